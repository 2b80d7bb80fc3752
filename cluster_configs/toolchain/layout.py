"""Where the cluster configs live and the release they all share (cluster_configs/release.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
CONFIGS = Path("cluster_configs")
KUBERAY = CONFIGS / "kuberay"
KUBERAY_SRC = KUBERAY / "src"
SCHEMAS = CONFIGS / "schemas"
RELEASE = CONFIGS / "release.yaml"
DOCKERFILE = CONFIGS / "docker" / "Dockerfile"


@dataclass(frozen=True)
class Release:
    image: str
    ray_version: str
    namespace: str


def load_release(repo: Path = REPO) -> Release:
    return Release(**yaml.safe_load((repo / RELEASE).read_text(encoding="utf-8")))


SERVE_ENV = CONFIGS / "ray-serve.env"


HAPROXY_FILES = {
    "RAY_SERVE_HAPROXY_SOCKET_PATH": "admin.sock",
    "RAY_SERVE_HAPROXY_CONFIG_FILE_LOC": "haproxy.cfg",
    "RAY_SERVE_HAPROXY_SERVER_STATE_BASE": "",
    "RAY_SERVE_HAPROXY_SERVER_STATE_FILE": "server-state",
    "RAY_SERVE_HAPROXY_METRICS_SOCKET_PATH": "metrics.sock",
}


def haproxy_private_env(folder: Path) -> dict[str, str]:
    """HAProxy's files (its admin socket among them) under ``folder``, made only its owner's
    (0700). Ray's template opens the admin socket ``mode 666 level admin`` in a folder anyone can
    enter (/tmp/haproxy-serve): in a folder no one else can enter, no one else reaches it."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    return {key: str(folder / name) if name else str(folder) for key, name in HAPROXY_FILES.items()}


def serve_cluster_env(repo: Path = REPO) -> dict[str, str]:
    """Ray Serve's cluster-wide switches (cluster_configs/ray-serve.env) as KEY → value."""
    lines = (repo / SERVE_ENV).read_text(encoding="utf-8").splitlines()
    pairs = (line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}
