"""The gate on LoRA adapters of the tiny Mistral: jobs.finetune_llm's training with a held-out
fifth of the conversations, registered; held-out loss decides, token F1 / EM are reported.

The tiny base is random, so its held-out loss sits near ln(vocab) and a rank-4 adapter learns
little of free-form answers in 16 steps; the replies therefore follow a house format (a fixed
lead-in and closing around the gold span), the thing a format fine-tune is for. Measured
in-process over 4 seeds: base 7.63, lr 5.0 x 2 epochs 7.47-7.79, lr 1e-2 x 4 epochs 7.26-7.27;
lr 3e-2 on plain SQuAD replies overlapped the wrecked range, which made this test flaky. The
version to beat is an adapter nobody trained: random weights, far from any of these."""

from __future__ import annotations

import pytest

from pipelines.train_llm import ADAPTER_DIRNAME, check_llm_inputs, train_llm
from ruai.eval.squad import read_squad
from ruai.lifecycle.lineage import LORA, Lineage
from ruai.lifecycle.promotion import promote
from ruai.lifecycle.registry import CHALLENGER, CHAMPION, Registry
from ruai.settings import Settings
from ruai.training.chat_data import squad_conversations, write_jsonl
from tests.support.tiny_llm import write_random_lora
from tests.support.tiny_squad import write_tiny_squad
from tests.support.untrained_model import register_untrained

pytestmark = pytest.mark.integration
MODEL = "qa-adapter"


@pytest.fixture(scope="module")
def adapters(ray_cluster, tiny_mistral, xquad_path, tmp_path_factory):
    """(settings, v1 a random adapter, v2 trained at a sane rate)."""
    work = tmp_path_factory.mktemp("promote-adapter")
    squad = write_tiny_squad(xquad_path, work / "tiny.json", articles=2, questions_per_article=5)
    rows = squad_conversations(read_squad(squad))
    for row in rows:
        reply = row["messages"][-1]
        reply["content"] = f"Ответ по тексту: {reply['content']}. Источник: абзац выше."
    chat = write_jsonl(rows, work / "chat.jsonl")
    settings = Settings(
        llm_train_max_tokens=1024,
        llm_lora_r=4,
        llm_lora_alpha=8,
        llm_max_tokens=16,
        registry_dir=work / "registry",
    )
    inputs = check_llm_inputs(settings, str(tiny_mistral), chat, None, holdout_fraction=0.2)
    assert len(inputs.examples) == 8 and len(inputs.held_out) == 2
    # v1: an adapter nobody trained, random A and B at 16x the rank's scale (loud)
    loud = write_random_lora(tiny_mistral, work / "wrecked")
    lineage = Lineage(LORA, inputs.base_ref, inputs.dataset, inputs.split or {})
    wrecked = register_untrained(settings, loud, ADAPTER_DIRNAME, MODEL, lineage, work)
    sane = train_llm(
        settings,
        inputs,
        work / "sane",
        epochs=4,
        batch_size=2,
        learning_rate=1e-2,
        num_workers=1,
        use_gpu=False,
        name="test-sane",
        register_as=MODEL,
    )
    return settings, wrecked, sane.registered


def test_adapter_gate(adapters):
    settings, wrecked, sane = adapters
    registry = Registry.from_settings(settings)
    assert (wrecked, sane) == (f"models:/{MODEL}/1", f"models:/{MODEL}/2")
    tags = registry.get(sane).tags
    assert tags["kind"] == "lora" and '"holdout_fraction": 0.2' in tags["split"]

    registry.set_alias(MODEL, CHAMPION, "1")
    promoted = promote(settings, MODEL, margin=0.0)
    assert promoted.decision.promote, promoted.decision.rows()
    assert {"loss", "token_f1", "exact_match"} <= set(promoted.decision.challenger)
    assert registry.get(f"models:/{MODEL}@{CHAMPION}").version == "2"

    registry.set_alias(MODEL, CHALLENGER, "1")
    refused = promote(settings, MODEL, margin=0.0)
    assert not refused.decision.promote, refused.decision.rows()
    assert registry.get(f"models:/{MODEL}@{CHAMPION}").version == "2"
