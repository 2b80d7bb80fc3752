"""A minimal issuer for unit tests: discovery and JWKS over real HTTP on localhost, keys the test
generates, and tokens it signs itself (for tampered and odd-algorithm cases; the main flow uses
the real provider of tests/support/oidc_provider.py)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm


@dataclass
class SigningKey:
    kid: str
    alg: str
    private: Any

    @classmethod
    def generate(cls, alg: str = "RS256", kid: str | None = None) -> SigningKey:
        if alg.startswith("ES"):
            private = ec.generate_private_key(ec.SECP256R1())
        else:
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls(kid or uuid.uuid4().hex[:8], alg, private)

    def public_jwk(self) -> dict:
        return self._jwk(self.private.public_key())

    def private_jwk(self) -> dict:
        return self._jwk(self.private)

    def _jwk(self, key: Any) -> dict:
        algorithm = ECAlgorithm if self.alg.startswith("ES") else RSAAlgorithm
        jwk = algorithm.to_jwk(key, as_dict=True)
        jwk.pop("key_ops", None)  # "use" says it; oidc-provider finds no signing key with both
        return {**jwk, "kid": self.kid, "alg": self.alg, "use": "sig"}


@dataclass
class JwksIssuer:
    """Serves ``/.well-known/openid-configuration`` and ``/jwks`` for ``keys``; counts JWKS
    requests; ``stop()`` takes it down (the provider is unreachable afterwards)."""

    keys: list[SigningKey] = field(default_factory=lambda: [SigningKey.generate()])
    jwks_requests: int = 0

    def __post_init__(self) -> None:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": issuer.url, "jwks_uri": issuer.url + "/jwks"}
                elif self.path == "/jwks":
                    issuer.jwks_requests += 1
                    body = {"keys": [k.public_jwk() for k in issuer.keys]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def token(self, key: SigningKey | None = None, audience: str = "ruai", **claims: Any) -> str:
        key = key or self.keys[0]
        now = int(time.time())
        payload = {"iss": self.url, "aud": audience, "sub": "u1", "iat": now, "exp": now + 300}
        payload |= claims
        return jwt.encode(payload, key.private, algorithm=key.alg, headers={"kid": key.kid})
