"""The MNRL loss and one real training step of the packaged MiniLM; SFT masking and collation
with the tiny Mistral's chat template; hyper-parameter validation; base model errors."""

from __future__ import annotations

import math

import pytest
import torch

from ruai.encoders.base import ModelNotFoundError
from ruai.settings import Settings
from ruai.training.base_model import resolve_base_embedder
from ruai.training.hparams import EmbedderHParams
from ruai.training.lora import resolve_base_llm
from ruai.training.mnrl import mnrl_loss
from ruai.training.sft import IGNORE, collate, encode_conversation

THREE_PAIRS = {
    "question": ["Где родился Тесла?", "Что такое ВВП?", "Кто написал «Войну и мир»?"],
    "passage": ["Тесла родился в Смилянах.", "ВВП — валовой продукт.", "Толстой — автор."],
    "passage_id": ["a", "b", "c"],
}


def test_mnrl_prefers_the_matching_passage_and_masks_same_passage_duplicates():
    queries = torch.eye(3)
    aligned = mnrl_loss(queries, torch.eye(3), ["a", "b", "c"], ["a", "b", "c"], scale=20.0)
    shuffled = mnrl_loss(queries, torch.eye(3)[[1, 2, 0]], ["a", "b", "c"], ["a", "b", "c"], 20.0)
    assert float(aligned) < 1e-6 < float(shuffled)
    # queries 0 and 1 share passage "a": candidate 1 is no negative for query 0
    duplicate = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    masked = mnrl_loss(duplicate, duplicate, ["a", "a"], ["a", "a"], scale=20.0)
    assert float(masked) < 1e-6


def test_one_training_step_lowers_the_loss_of_its_batch():
    from ruai.encoders.sentence_transformer import resolve_local_model
    from ruai.training.embedder_session import EmbedderSession

    hp = EmbedderHParams.from_settings(
        Settings(), batch_size=4, max_seq_length=32, learning_rate=1e-4, warmup_ratio=0.0
    )
    session = EmbedderSession(resolve_local_model("all-MiniLM-L6-v2"), hp, steps_per_epoch=3)
    losses = [session.train_epoch([THREE_PAIRS])["loss"] for _ in range(3)]
    assert all(math.isfinite(x) for x in losses)
    assert losses[-1] < losses[0]
    assert session.epoch == 3


def test_sft_labels_cover_only_the_reply(tiny_mistral):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_mistral))
    messages = [
        {"role": "user", "content": "Столица России?"},
        {"role": "assistant", "content": "Москва"},
    ]
    example = encode_conversation(tokenizer, messages, max_tokens=64)
    labels = example["labels"]
    reply = [t for t in labels if t != IGNORE]
    assert labels[: len(labels) - len(reply)] == [IGNORE] * (len(labels) - len(reply))
    assert "Москва" in tokenizer.decode(reply)
    assert tokenizer.decode(reply).endswith(tokenizer.eos_token + "\n")
    assert encode_conversation(tokenizer, messages, max_tokens=3) is None

    batch = collate([[1, 2, 3], [4]], [[IGNORE, 2, 3], [4]], pad_id=0)
    assert batch["input_ids"].tolist() == [[1, 2, 3], [4, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [[IGNORE, 2, 3], [4, IGNORE, IGNORE]]


def test_hparams_reject_what_cannot_train():
    with pytest.raises(ValueError, match="in-batch negatives"):
        EmbedderHParams.from_settings(Settings(), batch_size=1)
    with pytest.raises(ValueError, match="learning_rate"):
        EmbedderHParams.from_settings(Settings(), learning_rate=-1.0)
    with pytest.raises(ValueError, match="unknown hyper-parameters"):
        EmbedderHParams.from_settings(Settings(), momentum=0.9)
    hp = EmbedderHParams.from_settings(Settings(), batch_size=8, epochs=None)
    assert hp.batch_size == 8 and hp.epochs == Settings().train_epochs
    assert hp.steps_per_epoch(pairs=33, workers=2) == 3


def test_missing_base_models_name_the_setting(tmp_path):
    with pytest.raises(ModelNotFoundError, match="RUAI_DENSE_MODEL"):
        resolve_base_embedder(str(tmp_path / "nothing-here"))
    with pytest.raises(ModelNotFoundError, match="no trainable weights.*multilingual-e5-small-q4"):
        resolve_base_embedder("navec")
    with pytest.raises(ModelNotFoundError, match="RUAI_LLM_MODEL"):
        resolve_base_llm(None)
    with pytest.raises(ModelNotFoundError, match="RUAI_LLM_MODEL"):
        resolve_base_llm(str(tmp_path))
