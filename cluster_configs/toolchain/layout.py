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


def serve_cluster_env(repo: Path = REPO) -> dict[str, str]:
    """Ray Serve's cluster-wide switches (cluster_configs/ray-serve.env) as KEY → value."""
    lines = (repo / SERVE_ENV).read_text(encoding="utf-8").splitlines()
    pairs = (line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}
