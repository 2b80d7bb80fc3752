// A real OpenID provider (panva/oidc-provider, OpenID certified) for the tests: it issues JWT
// access tokens with Keycloak-shaped claims through the client credentials grant, and, with
// "ui" set, signs people in on its own login page (authorization code + PKCE, any password) for
// a public browser client, and gives it a refresh token (rotated at each use) as Keycloak does.
//
//   node server.mjs CONFIG.json
//
// CONFIG: {"issuer": "http://127.0.0.1:PORT", "port": PORT, "audience": "ruai",
//          "keys": [private JWKs, each with kid and alg], "clients": [{"client_id", "client_secret",
//          "alg": "RS256" | "ES256", "claims": {extra access-token claims}}], "ttl": seconds,
//          "ui": {"client_id", "redirect_uri"}, "accounts": {login: {claims}}}
// Prints "ready" on stdout once it listens.
import { readFileSync } from "node:fs";
import Provider from "oidc-provider";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const byClient = new Map(config.clients.map((c) => [c.client_id, c]));
const accounts = config.accounts ?? {};
const browserClients = config.ui
  ? [{
      client_id: config.ui.client_id,
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      redirect_uris: [config.ui.redirect_uri],
      post_logout_redirect_uris: [config.ui.redirect_uri],
    }]
  : [];

const provider = new Provider(config.issuer, {
  jwks: { keys: config.keys },
  cookies: { keys: [config.cookie_key ?? "test-cookie-key"] },
  clients: [
    ...config.clients.map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      grant_types: ["client_credentials"],
      redirect_uris: [],
      response_types: [],
    })),
    ...browserClients,
  ],
  clientBasedCORS: () => true,
  // Keycloak gives a standard-flow client a refresh token without the offline_access scope
  issueRefreshToken: (ctx, client) => client.grantTypeAllowed("refresh_token"),
  claims: { openid: ["sub"], profile: ["preferred_username", "name"] },
  findAccount: (ctx, id) =>
    accounts[id] ? { accountId: id, claims: () => ({ sub: id, ...accounts[id] }) } : undefined,
  features: {
    devInteractions: { enabled: Boolean(config.ui) },
    rpInitiatedLogout: { enabled: true },
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
  extraTokenClaims: (ctx, token) =>
    (token.accountId ? accounts[token.accountId] : byClient.get(token.clientId)?.claims) ?? {},
});

provider.on("server_error", (ctx, error) => console.error("server_error", error));

const server = provider.listen(config.port, "127.0.0.1", () => {
  process.stdout.write("ready\n");
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
