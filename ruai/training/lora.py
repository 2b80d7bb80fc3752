"""A causal LM with LoRA adapters (peft), optionally on a 4-/8-bit base (QLoRA, GPU only), and
the adapter saved in the PEFT format vLLM's LoRA loader reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from ruai.encoders.base import ModelNotFoundError

LoadIn = Literal["full", "8bit", "4bit"]
ADAPTER_CONFIG = "adapter_config.json"


def resolve_base_llm(model: str | None) -> Path:
    """A local Hugging Face model directory (config.json inside); never downloads."""
    if not model:
        raise ModelNotFoundError(
            "no base model for LoRA fine-tuning: pass --base-model or set RUAI_LLM_MODEL to a "
            "local Hugging Face model directory"
        )
    path = Path(model).expanduser()
    if not (path / "config.json").is_file():
        raise ModelNotFoundError(
            f"base model {model!r} is not a local Hugging Face model directory (no config.json); "
            "pass --base-model or set RUAI_LLM_MODEL to one (nothing is downloaded at run time)"
        )
    return path.resolve()


def load_lora_model(
    base: Path,
    *,
    r: int,
    alpha: int,
    dropout: float,
    target_modules: list[str],
    load_in: LoadIn = "full",
    adapter: Path | None = None,
):
    """The base model (frozen) with trainable LoRA weights: new ones, or ``adapter``'s."""
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model, prepare_model_for_kbit_training
    from transformers import AutoModelForCausalLM

    kwargs: dict = {"local_files_only": True}
    if load_in != "full":
        if not torch.cuda.is_available():
            raise RuntimeError(f"RUAI_LLM_LOAD_IN={load_in} needs CUDA (bitsandbytes); use 'full'")
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=load_in == "4bit",
            load_in_8bit=load_in == "8bit",
            bnb_4bit_quant_type="nf4",
            bnb_4bit_compute_dtype=torch.bfloat16,
            bnb_4bit_use_double_quant=True,
        )
        kwargs["dtype"] = torch.bfloat16
    model = AutoModelForCausalLM.from_pretrained(str(base), **kwargs)
    if load_in != "full":
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=True)
    if adapter is not None:
        return PeftModel.from_pretrained(model, str(adapter), is_trainable=True)
    config = LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=list(target_modules),
        bias="none",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def save_adapter(model, out_dir: Path, max_length: int) -> Path:
    """``adapter_config.json`` + ``adapter_model.safetensors``; ``max_length`` is recorded for
    ray.serve.llm, which reads it as the adapter's context length."""
    model.save_pretrained(str(out_dir), safe_serialization=True)
    config_path = out_dir / ADAPTER_CONFIG
    config = json.loads(config_path.read_text())
    config["max_length"] = max_length
    config_path.write_text(json.dumps(config, indent=2))
    return out_dir
