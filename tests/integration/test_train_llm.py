"""LoRA SFT on Ray Train with the tiny Mistral (the `trained_lora` fixture): the adapter loads
with peft on the tiny base; test_serve_vllm serves the same adapter through ray.serve.llm."""

from __future__ import annotations

import json
import math

import pytest

pytestmark = pytest.mark.integration


def test_lora_adapter_from_xquad_chat_loads_on_the_tiny_base(trained_lora, tiny_mistral):
    inputs, result = trained_lora
    assert inputs.report.kept == 12 and inputs.report.skipped_total == 3
    assert [row["epoch"] for row in result.history] == [1, 2]
    assert all(math.isfinite(row["loss"]) for row in result.history)
    config = json.loads((result.output / "adapter_config.json").read_text())
    assert config["r"] == 4 and config["max_length"] == 1024
    assert set(config["target_modules"]) == {"q_proj", "k_proj", "v_proj", "o_proj"}
    assert (result.output / "adapter_model.safetensors").is_file()

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(str(tiny_mistral))
    tuned = PeftModel.from_pretrained(base, str(result.output))
    lora_b = [p for name, p in tuned.named_parameters() if "lora_B" in name]
    assert lora_b and any(float(p.abs().sum()) > 0 for p in lora_b), "LoRA B stayed zero"
    ids = torch.tensor([[1, 5, 6, 7]])
    assert tuned(input_ids=ids).logits.shape[:2] == (1, 4)
