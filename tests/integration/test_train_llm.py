"""LoRA SFT on Ray Train with the tiny Mistral: the adapter loads with peft on the tiny base."""

from __future__ import annotations

import json
import math

import pytest

from pipelines.train_llm import check_llm_inputs, train_llm
from ruai.settings import Settings
from ruai.training.chat_data import squad_conversations, write_jsonl
from tests.support.tiny_squad import write_tiny_squad

pytestmark = pytest.mark.integration


def test_lora_adapter_from_xquad_chat_loads_on_the_tiny_base(
    ray_cluster, tiny_mistral, xquad_path, tmp_path
):
    from ruai.eval.squad import read_squad

    squad = write_tiny_squad(
        xquad_path, tmp_path / "tiny.json", articles=2, questions_per_article=6
    )
    chat = write_jsonl(squad_conversations(read_squad(squad)), tmp_path / "chat.jsonl")
    with chat.open("a", encoding="utf-8") as handle:
        handle.write('not json\n\n{"messages": [{"role": "user", "content": "вопрос"}]}\n')
    settings = Settings(llm_train_max_tokens=1024, llm_lora_r=4, llm_lora_alpha=8)
    inputs = check_llm_inputs(settings, str(tiny_mistral), chat, None)
    assert inputs.report.kept == 12 and inputs.report.skipped_total == 3

    result = train_llm(
        settings, inputs, tmp_path / "adapter", epochs=2, batch_size=4, num_workers=2, use_gpu=False
    )
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
