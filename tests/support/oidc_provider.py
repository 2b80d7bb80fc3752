"""The real OpenID provider of the identity tests: panva's oidc-provider (npm, installed by
scripts/oidc-provider.sh) on localhost, with signing keys the test makes, issuing JWT access
tokens with Keycloak-shaped claims (groups as full paths, realm_access.roles) through the client
credentials grant: each client stands for a user. With ``browser_client`` (a public client and
its redirect URI) it also signs ``accounts`` in on its own login page (any password)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support import http_calls
from tests.support.jwks_server import SigningKey

SERVER_DIR = Path(__file__).resolve().parent / "oidc"
AUDIENCE = "ruai"


def provider_missing() -> str | None:
    """Why the provider cannot start here (a pytest.fail message), or None."""
    if shutil.which("node") is None:
        return "node is missing: run scripts/system-packages.sh"
    if not (SERVER_DIR / "node_modules" / "oidc-provider").is_dir():
        return "the test OpenID provider is not installed: run scripts/oidc-provider.sh"
    return None


@dataclass
class User:
    client_id: str
    claims: dict[str, Any]
    alg: str = "RS256"
    secret: str = field(default="")

    def __post_init__(self) -> None:
        self.secret = self.secret or f"secret-of-{self.client_id}-0123456789abcdef"


class OidcProvider:
    """``start()`` / ``stop()`` the node process; ``restart(keys)`` serves a new key set on the
    same issuer URL (a key rotation); ``token(user)`` asks the token endpoint."""

    def __init__(
        self,
        port: int,
        users: list[User],
        ttl_s: int = 300,
        browser_client: tuple[str, str] | None = None,
        accounts: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.browser_client = browser_client
        self.accounts = accounts or {}
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.users = {u.client_id: u for u in users}
        self.ttl_s = ttl_s
        self.keys = [SigningKey.generate("RS256"), SigningKey.generate("ES256")]
        self._dir = Path(tempfile.mkdtemp(prefix="ruai-oidc-"))
        self._process: subprocess.Popen | None = None

    def start(self) -> None:
        config = self._dir / "config.json"
        config.write_text(
            json.dumps(
                {
                    "issuer": self.url,
                    "port": self.port,
                    "audience": AUDIENCE,
                    "ttl": self.ttl_s,
                    "keys": [k.private_jwk() for k in self.keys],
                    "clients": [
                        {
                            "client_id": u.client_id,
                            "client_secret": u.secret,
                            "alg": u.alg,
                            "claims": u.claims,
                        }
                        for u in self.users.values()
                    ],
                    "accounts": self.accounts,
                }
                | (
                    {
                        "ui": dict(
                            zip(("client_id", "redirect_uri"), self.browser_client, strict=True)
                        )
                    }
                    if self.browser_client
                    else {}
                )
            )
        )
        self._process = subprocess.Popen(
            ["node", str(SERVER_DIR / "server.mjs"), str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self._process.stdout.readline()
        if line.strip() != "ready":
            self._process.kill()
            raise RuntimeError(f"the OpenID provider did not start: {self._process.stderr.read()}")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def restart(self, keys: list[SigningKey]) -> None:
        self.stop()
        self.keys = keys
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def token(self, client_id: str) -> str:
        user = self.users[client_id]
        response = http_calls.post(
            f"{self.url}/token",
            data={"grant_type": "client_credentials"},
            auth=(user.client_id, user.secret),
            timeout=10,
        )
        response.raise_for_status()
        return response.json()["access_token"]
