// A real OpenID provider (panva/oidc-provider, OpenID certified) for the tests: it issues JWT
// access tokens with Keycloak-shaped claims through the client credentials grant.
//
//   node server.mjs CONFIG.json
//
// CONFIG: {"issuer": "http://127.0.0.1:PORT", "port": PORT, "audience": "ruai",
//          "keys": [private JWKs, each with kid and alg], "clients": [{"client_id", "client_secret",
//          "alg": "RS256" | "ES256", "claims": {extra access-token claims}}], "ttl": seconds}
// Prints "ready" on stdout once it listens.
import { readFileSync } from "node:fs";
import Provider from "oidc-provider";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const byClient = new Map(config.clients.map((c) => [c.client_id, c]));

const provider = new Provider(config.issuer, {
  jwks: { keys: config.keys },
  cookies: { keys: [config.cookie_key ?? "test-cookie-key"] },
  clients: config.clients.map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    grant_types: ["client_credentials"],
    redirect_uris: [],
    response_types: [],
  })),
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => "urn:ruai:api",
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource, client) => ({
        scope: "openid profile",
        audience: config.audience,
        accessTokenTTL: config.ttl ?? 300,
        accessTokenFormat: "jwt",
        jwt: { sign: { alg: byClient.get(client.clientId)?.alg ?? "RS256" } },
      }),
    },
  },
  extraTokenClaims: (ctx, token) => byClient.get(token.clientId)?.claims ?? {},
});

provider.on("server_error", (ctx, error) => console.error("server_error", error));

const server = provider.listen(config.port, "127.0.0.1", () => {
  process.stdout.write("ready\n");
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
