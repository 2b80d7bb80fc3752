"""The application builder: ``serve run serve_apps.rag:build_app``, ``serve deploy
serve_apps/configs/<profile>.yaml`` and a KubeRay RayService all import this one function.

args (all optional)::

    settings: {name: value}    Settings fields; RUAI_* environment variables win over them
    collections: [name, ...]   collections listed by /v1/models (default: [settings.collection])
    search: {num_cpus, num_gpus, num_replicas}    and the same for generator and ingress
    engine_kwargs: {...}        extra vLLM engine arguments (generator=vllm)
    llm_env_vars: {...}         environment of the vLLM engine (e.g. VLLM_CPU_KVCACHE_SPACE)
"""

from __future__ import annotations

from typing import Any

from ray.serve.deployment import Application

from ruai.api_keys import ApiKeys
from serve_apps.app_settings import settings_from_args
from serve_apps.extractive import ExtractiveGenerator
from serve_apps.ingress import RagIngress
from serve_apps.search import Search

_DEFAULT_RESOURCES = {
    "search": {"num_cpus": 0.25},
    "generator": {"num_cpus": 0.25},
    "ingress": {"num_cpus": 0.25},
}
_DEPLOYMENT_OPTIONS = ("num_replicas", "max_ongoing_requests", "max_queued_requests")
# Ray Serve's per-replica latency switches (part of the cluster-wide data plane of
# cluster_configs/ray-serve.env), set here too so that a cluster started without that file still
# runs user code and the handle router on the replica's own event loop: 46.6 → 39.3 ms p50 for
# /v1/search at concurrency 1 on 2 cores (docs/benchmarks.md).
REPLICA_ENV = {
    "RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD": "0",
    "RAY_SERVE_RUN_ROUTER_IN_SEPARATE_LOOP": "0",
}


def _options(args: dict[str, Any], role: str) -> dict[str, Any]:
    given = _DEFAULT_RESOURCES[role] | (args.get(role) or {})
    actor = {k: v for k, v in given.items() if k in ("num_cpus", "num_gpus", "memory")}
    actor["runtime_env"] = {"env_vars": dict(REPLICA_ENV)}
    deployment = {k: v for k, v in given.items() if k in _DEPLOYMENT_OPTIONS}
    unknown = set(given) - set(actor) - set(deployment)
    if unknown:
        raise ValueError(f"{role}: unknown options {sorted(unknown)}")
    return {"ray_actor_options": actor, **deployment}


def build_app(args: dict[str, Any] | None = None) -> Application:
    args = dict(args or {})
    settings = settings_from_args(args)
    ApiKeys.from_settings(settings)  # a profile that requires keys refuses to start without them
    collections = list(args.get("collections") or [settings.collection])
    if settings.collection not in collections:
        collections.insert(0, settings.collection)
    search = Search.options(**_options(args, "search")).bind(settings)
    if settings.generator == "vllm":
        from serve_apps.llm import build_llm_server, llm_config

        config = llm_config(settings, args.get("engine_kwargs"), args.get("llm_env_vars"))
        generator = build_llm_server(config)
    else:
        generator = ExtractiveGenerator.options(**_options(args, "generator")).bind(settings)
    return RagIngress.options(**_options(args, "ingress")).bind(
        settings, search, generator, collections
    )
