"""The application builder: ``serve run serve_apps.rag:build_app``, ``serve deploy
serve_apps/configs/<profile>.yaml`` and a KubeRay RayService all import this one function; its
arguments are ``serve_apps.app_args.RagAppArgs`` (Serve validates them before building).
"""

# no `from __future__ import annotations`: Serve reads build_app's annotation as a class to
# validate the config's args with it
from typing import Any

from ray.serve.deployment import Application

from ruai.api_keys import ApiKeys
from ruai.identity.tokens import TokenVerifier
from ruai.lifecycle.arms_config import ArmsConfig
from serve_apps.app_args import DeploymentArgs, RagAppArgs
from serve_apps.app_settings import settings_from_args
from serve_apps.extractive import ExtractiveGenerator
from serve_apps.ingress import RagIngress
from serve_apps.search import Search

# Ray Serve's per-replica latency switches (part of the cluster-wide data plane of
# cluster_configs/ray-serve.env), set here too so that a cluster started without that file still
# runs user code and the handle router on the replica's own event loop: 46.6 → 39.3 ms p50 for
# /v1/search at concurrency 1 on 2 cores (docs/benchmarks.md).
REPLICA_ENV = {
    "RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD": "0",
    "RAY_SERVE_RUN_ROUTER_IN_SEPARATE_LOOP": "0",
}


def _options(given: DeploymentArgs) -> dict[str, Any]:
    actor = given.actor_options() | {"runtime_env": _replica_runtime_env()}
    return {"ray_actor_options": actor, **given.deployment_options()}


def _replica_runtime_env() -> dict[str, Any]:
    """REPLICA_ENV over the app's own runtime env (a config's ``runtime_env``), merged as Serve
    merges them for a deployment a config deploy names. Serve merges them only then: a first
    `jobs.rollout`, which names the ingress to change its user_config, changed its actor options
    and restarted every ingress replica."""
    import ray
    from ray.serve._private.utils import override_runtime_envs_except_env_vars

    app_env = dict(ray.get_runtime_context().runtime_env) if ray.is_initialized() else {}
    return override_runtime_envs_except_env_vars(app_env, {"env_vars": dict(REPLICA_ENV)})


def build_app(args: RagAppArgs) -> Application:
    if not isinstance(args, RagAppArgs):  # called directly with a dict (tests, benchmarks)
        args = RagAppArgs.model_validate(args or {})
    settings = settings_from_args(args.settings)
    ApiKeys.from_settings(settings)  # a profile that requires keys refuses to start without them
    TokenVerifier.from_settings(settings)  # an issuer without an audience, odd algorithms
    collections = list(args.collections or [settings.collection])
    if settings.collection not in collections:
        collections.insert(0, settings.collection)
    arms = ArmsConfig(experiments=args.experiments, guardrails=args.guardrails)
    arms.check_serving(settings)
    search = None
    if not args.search_in_ingress:
        search = Search.options(**_options(args.search)).bind(settings)
    if settings.generator == "vllm" and args.generator_in_ingress:
        raise ValueError("generator_in_ingress: only the extractive generator runs in the "
                         "ingress; vLLM needs its own deployment")  # fmt: skip
    if settings.generator == "vllm":
        from serve_apps.llm import build_llm_server, llm_config

        config = llm_config(settings, args.engine_kwargs, args.llm_env_vars,
                            args.generator.deployment_options())  # fmt: skip
        generator = build_llm_server(config)
    elif args.generator_in_ingress:
        generator = None
    else:
        generator = ExtractiveGenerator.options(**_options(args.generator)).bind(settings)
    # the ingress admits requests itself (serve_apps/admission.py) and Serve never answers with
    # its own plain-text backpressure: Serve (and HAProxy in front, which queues past a replica's
    # max_ongoing_requests) lets twice the capacity in, so that a request past the capacity
    # reaches the app and gets its 503 at once
    ongoing = args.ingress.max_ongoing_requests or 32
    queued = args.ingress.max_queued_requests or 64
    ingress = args.ingress.model_copy(
        update={"max_ongoing_requests": 2 * (ongoing + queued), "max_queued_requests": -1}
    )
    # the experiments are the ingress's user_config: a deploy that changes only them (a config's
    # deployments[RagIngress].user_config, jobs/rollout.py) reconfigures replicas in place
    options = _options(ingress) | {"user_config": arms.model_dump(mode="json")}
    return RagIngress.options(**options).bind(
        settings, search, generator, collections, (ongoing, queued)
    )
