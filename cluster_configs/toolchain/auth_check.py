"""Ray's token authentication everywhere: every Ray cluster the manifests start runs with
``authOptions.mode: token`` and one shared Secret, every other pod that calls a cluster's
dashboard/job API (``--address=http://…:8265``) carries that Secret's token, and the launcher's
containers run with ``RAY_AUTH_MODE=token`` and a token file."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from cluster_configs.toolchain.manifests import kubernetes_manifests
from cluster_configs.toolchain.problems import Problem
from cluster_configs.toolchain.release_check import RAY_KINDS, containers, launcher_env, secret_ref

TOKEN_KEY = "auth_token"  # the key KubeRay reads from the Secret
_CLUSTER_SPEC = {
    "RayCluster": (),
    "RayJob": ("rayClusterSpec",),
    "RayService": ("rayClusterConfig",),
}
_DASHBOARD = re.compile(r"https?://[^\s'\"]+:8265")


def _cluster_spec(doc: dict) -> dict:
    spec = doc.get("spec", {})
    for key in _CLUSTER_SPEC[doc["kind"]]:
        spec = spec.get(key, {})
    return spec


def _env(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}


def check_ray_auth(repo: Path) -> Iterator[Problem]:
    manifests = kubernetes_manifests(repo)
    secrets: dict[str, str] = {}  # secret name -> the first manifest that names it
    for manifest in manifests:
        if manifest.doc["kind"] not in RAY_KINDS:
            continue
        auth = _cluster_spec(manifest.doc).get("authOptions") or {}
        if auth.get("mode") != "token":
            yield Problem(manifest.where, "the Ray cluster runs without token authentication "
                          "(authOptions.mode: token)")  # fmt: skip
        elif not auth.get("secretName"):
            yield Problem(manifest.where, "authOptions names no secretName: KubeRay would make a "
                          "token no other pod knows")  # fmt: skip
        else:
            secrets.setdefault(auth["secretName"], manifest.where)
    if len(secrets) > 1:
        yield Problem(
            "cluster_configs", f"the Ray clusters read their tokens from {sorted(secrets)}: use one"
        )
    for manifest in manifests:
        if manifest.doc["kind"] in RAY_KINDS:
            continue
        for container in containers(manifest.doc):
            words = " ".join(
                str(w) for w in container.get("command", []) + container.get("args", [])
            )
            if not _DASHBOARD.search(words):
                continue
            env = _env(container)
            token = secret_ref(env.get("RAY_AUTH_TOKEN", {}))
            if env.get("RAY_AUTH_MODE", {}).get("value") != "token" or (
                token is None or token[0] not in secrets or token[1] != TOKEN_KEY
            ):
                yield Problem(
                    manifest.where,
                    f"container {container.get('name')} calls a Ray dashboard without the "
                    f"cluster token: it needs RAY_AUTH_MODE=token and RAY_AUTH_TOKEN from "
                    f"secret {'/'.join(sorted(secrets)) or '?'} key {TOKEN_KEY}",
                )
    for where, env in launcher_env(repo):
        if env.get("RAY_AUTH_MODE") != "token" or not (
            env.get("RAY_AUTH_TOKEN_PATH") or "RAY_AUTH_TOKEN" in env
        ):
            yield Problem(where, "docker run_options lack Ray's token authentication "
                          "(`-e RAY_AUTH_MODE=token` and `-e RAY_AUTH_TOKEN_PATH=…`)")  # fmt: skip
