"""The generator's LLMConfig built from Settings: LoRA from object storage or none."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from ruai.settings import Settings


def test_a_local_lora_folder_is_refused_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="RUAI_LLM_LORA_PATH.*object storage"):
        Settings(llm_lora_path=str(tmp_path))


def test_lora_settings_reach_ray_serve_llm_and_the_engine(tmp_path: Path) -> None:
    pytest.importorskip("ray.serve.llm")
    from serve_apps.llm import llm_config

    settings = Settings(
        llm_model=str(tmp_path),
        llm_lora_path="s3://bucket/loras/",
        llm_max_loras=2,
        llm_max_lora_rank=8,
    )
    config = llm_config(settings, {"max_lora_rank": 32})
    assert config.lora_config.dynamic_lora_loading_path == "s3://bucket/loras"
    assert config.lora_config.max_num_adapters_per_replica == 2
    assert config.engine_kwargs["enable_lora"] is True
    assert config.engine_kwargs["max_loras"] == 2
    assert config.engine_kwargs["max_lora_rank"] == 32  # the app's engine_kwargs win

    plain = llm_config(Settings(llm_model=str(tmp_path)))
    assert plain.lora_config is None and "enable_lora" not in plain.engine_kwargs


def test_the_generator_args_autoscale_the_llm_through_ray_serve_llm(tmp_path: Path) -> None:
    pytest.importorskip("ray.serve.llm")
    from ray.serve.llm import LLMServer

    from serve_apps.app_args import RagAppArgs
    from serve_apps.llm import llm_config

    scaling = {"min_replicas": 1, "max_replicas": 3, "target_ongoing_requests": 8}
    args = RagAppArgs.model_validate({"generator": {"autoscaling_config": scaling}})
    config = llm_config(Settings(llm_model=str(tmp_path)), None, None,
                        args.generator.deployment_options())  # fmt: skip
    options = LLMServer.get_deployment_options(config)
    assert {k: options["autoscaling_config"][k] for k in scaling} == scaling
    assert options["max_ongoing_requests"] == 32  # the defaults stay where not given


def test_fields_vllm_refuses_are_a_400_frame() -> None:
    pytest.importorskip("ray.serve.llm")
    import asyncio

    from serve_apps.llm import VLLMGenerator
    from serve_apps.stream_events import GenerationError
    from serve_apps.vllm_stream import VLLMStream

    async def read() -> None:
        # the refusal comes before the replica's engine is touched
        fields = {"model": "tiny", "messages": [{"role": "user", "content": "?"}]}
        stream = await VLLMGenerator.chat_fields(None, fields | {"temperature": "hot"})
        async for _ in VLLMStream().events(stream):
            pass

    with pytest.raises(GenerationError, match="temperature") as refused:
        asyncio.run(read())
    assert refused.value.status == 400


def test_the_model_is_not_fetched_on_each_node(tmp_path: Path) -> None:
    pytest.importorskip("ray.serve.llm")
    from serve_apps.llm import LocalModel, llm_config

    config = llm_config(Settings(llm_model=str(tmp_path)))
    assert config.callback_config.callback_class is LocalModel
