"""One release everywhere: the image and Ray version of every Ray pod, the launcher and the
Dockerfile; RUAI_* variables that name real settings; Serve's data plane
(cluster_configs/ray-serve.env) on the launcher's hosts; the Qdrant the Ray pods point to."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from cluster_configs.toolchain.layout import (
    DOCKERFILE,
    SERVE_ENV,
    Release,
    load_release,
    serve_cluster_env,
)
from cluster_configs.toolchain.manifests import Manifest, kubernetes_manifests
from cluster_configs.toolchain.problems import Problem
from cluster_configs.toolchain.schema_check import LAUNCHER
from ruai.settings import Settings

RAY_KINDS = {"RayCluster", "RayJob", "RayService"}
_NOT_FIELDS = {"profile_file"}  # read by the profile source, not a field


def _walk(node: Any, key: str) -> Iterator[Any]:
    """Every value stored under ``key`` anywhere in ``node``."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                yield v
            yield from _walk(v, key)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item, key)


def containers(doc: dict) -> list[dict]:
    return [c for group in _walk(doc, "containers") for c in group]


def env_entries(doc: dict) -> list[dict]:
    """The `env` items ({name, value | valueFrom}) of every container in ``doc``."""
    return [e for c in containers(doc) for e in c.get("env", [])]


def _launchers(repo: Path) -> list[tuple[str, dict]]:
    return [
        (str(p.relative_to(repo)), yaml.safe_load(p.read_text(encoding="utf-8")))
        for p in sorted((repo / LAUNCHER).glob("*.yaml"))
    ]


def check_images(repo: Path, release: Release | None = None) -> Iterator[Problem]:
    release = release or load_release(repo)
    import ray

    version = tomllib.loads((repo / "pyproject.toml").read_text())["project"]["version"]
    if not release.image.endswith(f":{version}"):
        yield Problem(
            "cluster_configs/release.yaml", f"image tag is not the project version {version}"
        )
    if release.ray_version != ray.__version__:
        yield Problem(
            "cluster_configs/release.yaml",
            f"ray_version {release.ray_version} but the project pins Ray {ray.__version__}",
        )
    dockerfile = (repo / DOCKERFILE).read_text(encoding="utf-8")
    if f"ARG RAY_VERSION={release.ray_version}" not in dockerfile:
        yield Problem(str(DOCKERFILE), f"base image is not Ray {release.ray_version}")
    for manifest in kubernetes_manifests(repo):
        if manifest.doc["kind"] not in RAY_KINDS:
            continue
        for container in containers(manifest.doc):
            if container.get("image") != release.image:
                yield Problem(
                    manifest.where,
                    f"container {container.get('name')} runs {container.get('image')}, "
                    f"not the release image {release.image}",
                )
        for ray_version in _walk(manifest.doc, "rayVersion"):
            if ray_version != release.ray_version:
                yield Problem(manifest.where, f"rayVersion {ray_version} != {release.ray_version}")
    for where, launcher in _launchers(repo):
        image = launcher.get("docker", {}).get("image")
        if image != release.image:
            yield Problem(where, f"docker.image {image} is not the release image {release.image}")


def _runtime_env_vars(manifest: Manifest) -> dict[str, str]:
    spec = manifest.doc.get("spec", {})
    found: dict[str, str] = {}
    if "runtimeEnvYAML" in spec:
        found |= (yaml.safe_load(spec["runtimeEnvYAML"]) or {}).get("env_vars", {})
    if "serveConfigV2" in spec:
        for app in (yaml.safe_load(spec["serveConfigV2"]) or {}).get("applications", []):
            found |= app.get("runtime_env", {}).get("env_vars", {})
    return found


def _unknown_setting(name: str) -> str | None:
    if not name.startswith("RUAI_"):
        return None
    field = name.removeprefix("RUAI_").lower()
    if field in Settings.model_fields or field in _NOT_FIELDS:
        return None
    return f"{name} is not a setting of ruai/settings.py (a typo?)"


def check_env(repo: Path) -> Iterator[Problem]:
    for manifest in kubernetes_manifests(repo):
        names = [e["name"] for e in env_entries(manifest.doc)]
        names += list(_runtime_env_vars(manifest))
        for name in names:
            error = _unknown_setting(name)
            if error:
                yield Problem(manifest.where, error)
    serve_env = serve_cluster_env(repo)
    for where, given in launcher_env(repo):
        for name in given:
            error = name.startswith("RUAI_") and _unknown_setting(name)
            if error:
                yield Problem(where, error)
        for name, value in serve_env.items():
            if given.get(name) != value:
                yield Problem(where, f"docker run_options lack `-e {name}={value}` ({SERVE_ENV})")


def launcher_env(repo: Path) -> list[tuple[str, dict[str, str]]]:
    """Each launcher YAML and the ``-e NAME=VALUE`` its docker run_options set."""
    out = []
    for where, launcher in _launchers(repo):
        given = {}
        for option in launcher.get("docker", {}).get("run_options", []):
            match = re.match(r"-e\s+(\w+)=(\S*)", option)
            if match:
                given[match.group(1)] = match.group(2)
        out.append((where, given))
    return out


def secret_ref(entry: dict) -> tuple[str, str] | None:
    ref = entry.get("valueFrom", {}).get("secretKeyRef")
    return (ref["name"], ref["key"]) if ref else None


def check_qdrant_wiring(repo: Path) -> Iterator[Problem]:
    """Ray pods reach a Qdrant Service that exists, with the API key Qdrant itself uses."""
    manifests = kubernetes_manifests(repo)
    services = {
        m.doc["metadata"]["name"]: {p["port"] for p in m.doc["spec"].get("ports", [])}
        for m in manifests
        if m.doc["kind"] == "Service"
    }
    qdrant_keys = {
        secret_ref(e)
        for m in manifests
        for e in env_entries(m.doc)
        if e["name"] == "QDRANT__SERVICE__API_KEY"
    }
    for manifest in manifests:
        if manifest.doc["kind"] not in RAY_KINDS:
            continue
        for entry in env_entries(manifest.doc):
            if entry["name"] == "RUAI_QDRANT_URL":
                url = urlparse(entry.get("value", ""))
                if url.hostname not in services or url.port not in services[url.hostname]:
                    yield Problem(
                        manifest.where,
                        f"RUAI_QDRANT_URL={entry.get('value')} names no Service and port "
                        "defined in cluster_configs",
                    )
            if entry["name"] == "RUAI_QDRANT_API_KEY":
                ref = secret_ref(entry)
                if ref is None:
                    yield Problem(manifest.where, "RUAI_QDRANT_API_KEY must come from a Secret")
                elif ref not in qdrant_keys:
                    yield Problem(
                        manifest.where,
                        f"RUAI_QDRANT_API_KEY reads secret {ref[0]}/{ref[1]}, but Qdrant's "
                        f"QDRANT__SERVICE__API_KEY reads {sorted(k for k in qdrant_keys if k)}",
                    )
