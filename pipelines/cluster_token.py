"""Ray token authentication for the clusters this project starts, with a token the project owns.

Ray 2.60 turns token auth on for `ray start` when `~/.ray/auth_token` exists, and then every
client needs `RAY_AUTH_MODE=token`; on a fresh machine there is no token, and
`ray get-auth-token --generate` can only write to the home directory. Instead the project keeps
its token in a file of its own (`RAY_AUTH_TOKEN_PATH`, Ray's own variable), created here when
missing, and sets both variables for the cluster, the drivers, `ray job submit` and `serve deploy`
alike. No Ray import: the variables must be set before Ray reads them.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# where scripts/main.sh keeps it: RUAI_DATA_DIR (default ./data of the repository)
DEFAULT_TOKEN_PATH = Path(os.environ.get("RUAI_DATA_DIR") or REPO / "data") / "ray" / "auth_token"


def ensure_cluster_token(default_path: Path = DEFAULT_TOKEN_PATH) -> dict[str, str]:
    """Token auth on (unless RAY_AUTH_MODE=disabled): RAY_AUTH_TOKEN / RAY_AUTH_TOKEN_PATH from the
    environment if given, else `default_path`, created (0600) when missing. Returns the variables
    it set, so a caller can hand them to child processes."""
    if os.environ.get("RAY_AUTH_MODE", "").lower() == "disabled":
        return {}
    env = {"RAY_AUTH_MODE": "token"}
    if not os.environ.get("RAY_AUTH_TOKEN"):
        path = Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or default_path).expanduser().resolve()
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
        env["RAY_AUTH_TOKEN_PATH"] = str(path)
    os.environ.update(env)
    return env
