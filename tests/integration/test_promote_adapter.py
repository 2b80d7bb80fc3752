"""The gate on LoRA adapters of the tiny Mistral: the adapter jobs.finetune_llm trained with a
held-out fifth of the conversations (`trained_lora` of tests/conftest.py, also served by
test_serve_vllm), registered; held-out loss decides, token F1 / EM are reported.

The tiny base is random, so its held-out loss sits near ln(vocab) and a rank-4 adapter learns
little of free-form answers in a few steps; the replies therefore follow a house format.
Measured in-process on one worker over 4 seeds: base 7.63, lr 5.0 x 2 epochs 7.47-7.79, lr 1e-2 x
4 epochs 7.26-7.27; lr 3e-2 on plain SQuAD replies overlapped the wrecked range, which made a
gate between two trained adapters flaky. The version to beat is an adapter nobody trained: random
weights, far from any of these."""

from __future__ import annotations

import pytest

from pipelines.train_llm import ADAPTER_DIRNAME
from ruai.lifecycle.lineage import LORA, Lineage
from ruai.lifecycle.promotion import promote
from ruai.lifecycle.registry import CHALLENGER, CHAMPION, Registry
from tests.conftest import ADAPTER_MODEL as MODEL
from tests.support.registered_folder import register_folder
from tests.support.tiny_llm import write_random_lora

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def adapters(trained_lora, tiny_mistral, tmp_path_factory):
    """(settings, v1 the trained adapter, v2 an adapter nobody trained: random A and B at 16x the
    rank's scale, loud)."""
    settings, inputs, trained = trained_lora
    work = tmp_path_factory.mktemp("promote-adapter")
    loud = write_random_lora(tiny_mistral, work / "wrecked")
    lineage = Lineage(LORA, inputs.base_ref, inputs.dataset, inputs.split or {})
    untrained = {"untrained": True}
    wrecked = register_folder(settings, loud, ADAPTER_DIRNAME, MODEL, lineage, work, untrained)
    return settings, trained.registered, wrecked


def test_adapter_gate(adapters):
    settings, sane, wrecked = adapters
    registry = Registry.from_settings(settings)
    assert (sane, wrecked) == (f"models:/{MODEL}/1", f"models:/{MODEL}/2")
    tags = registry.get(sane).tags
    assert tags["kind"] == "lora" and '"holdout_fraction": 0.2' in tags["split"]

    registry.set_alias(MODEL, CHAMPION, "2")
    registry.set_alias(MODEL, CHALLENGER, "1")
    promoted = promote(settings, MODEL, margin=0.0)
    assert promoted.decision.promote, promoted.decision.rows()
    assert {"loss", "token_f1", "exact_match"} <= set(promoted.decision.challenger)
    assert registry.get(f"models:/{MODEL}@{CHAMPION}").version == "1"

    registry.set_alias(MODEL, CHALLENGER, "2")
    refused = promote(settings, MODEL, margin=0.0)
    assert not refused.decision.promote, refused.decision.rows()
    assert registry.get(f"models:/{MODEL}@{CHAMPION}").version == "1"
