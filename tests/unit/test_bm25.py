"""BM25 sparse encoder: real pymorphy3 lemmas, stable term ids, Qdrant-ready vectors."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ruai.encoders.base import SparseEncoder, SparseVector
from ruai.encoders.bm25 import BM25Encoder, term_id
from ruai.encoders.factory import build_sparse_encoder
from ruai.settings import Settings
from ruai.text.lemmas import Lemmatizer

PASSAGE = (
    "Кошка спала на тёплом диване, пока хозяева пили чай. Соседская кошка смотрела в окно, "
    "а ёлка во дворе стояла под снегом."
)


@pytest.fixture(scope="module")
def bm25() -> BM25Encoder:
    return BM25Encoder(Lemmatizer(cache_size=1000), k1=1.2, b=0.75, avg_doc_tokens=60.0)


def weight_of(vector: SparseVector, lemma: str) -> float:
    return vector.values[vector.indices.index(term_id(lemma))]


def test_term_id_is_a_fixed_32_bit_function_of_the_lemma() -> None:
    # Pinned: changing the hash would silently orphan every sparse vector already stored.
    assert term_id("кошка") == 336722692
    assert all(0 <= term_id(w) < 2**32 for w in ["", "а", "кошка", "x" * 1000])
    assert term_id("кошка") != term_id("собака")


def test_term_ids_agree_across_processes_with_different_hash_seeds() -> None:
    words = ["кошка", "ёлка", "москва", "bm25"]
    code = (
        "import sys; from ruai.encoders.bm25 import term_id; "
        "print(' '.join(str(term_id(w)) for w in sys.argv[1:]))"
    )
    for seed in ("1", "12345"):
        out = subprocess.run(
            [sys.executable, "-c", code, *words],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert [int(x) for x in out] == [term_id(w) for w in words]


def test_query_inflection_matches_passage_lemma(bm25: BM25Encoder) -> None:
    query = bm25.encode_queries(["кошки"])[0]
    passage = bm25.encode_passages([PASSAGE])[0]
    assert query.indices == [term_id("кошка")]
    assert query.values == [1.0]
    assert term_id("кошка") in passage.indices


def test_yo_is_folded_on_both_sides(bm25: BM25Encoder) -> None:
    passage = bm25.encode_passages([PASSAGE])[0]  # "ёлка", "тёплом"
    for query_text in ("елка", "ёлки", "теплый"):
        query = bm25.encode_queries([query_text])[0]
        assert len(query) == 1
        assert query.indices[0] in passage.indices


def test_query_weights_one_per_unique_lemma_and_drop_stop_words(bm25: BM25Encoder) -> None:
    query = bm25.encode_queries(["Кошка, кошки и кошкой — это кошка?"])[0]
    assert query.indices == [term_id("кошка")]
    assert query.values == [1.0]
    assert bm25.encode_queries(["и в на"])[0] == SparseVector()


def test_passage_text_and_precomputed_lemmas_give_the_same_vector(bm25: BM25Encoder) -> None:
    lemmas = Lemmatizer(cache_size=0).lemmas(PASSAGE)
    assert bm25.encode_passage_lemmas(lemmas) == bm25.encode_passages([PASSAGE])[0]


def test_passage_weight_is_bm25_tf_saturation(bm25: BM25Encoder) -> None:
    lemmas = ["кошка", "кошка", "собака", "дом"]
    k1, b, avg = 1.2, 0.75, 60.0
    expected = 2 * (k1 + 1) / (2 + k1 * (1 - b + b * len(lemmas) / avg))
    assert weight_of(bm25.encode_passage_lemmas(lemmas), "кошка") == pytest.approx(expected)


def test_tf_saturation_is_monotonic_and_bounded(bm25: BM25Encoder) -> None:
    length = 40
    weights = [
        weight_of(bm25.encode_passage_lemmas(["кошка"] * tf + ["дом"] * (length - tf)), "кошка")
        for tf in range(1, 20)
    ]
    assert all(a < b for a, b in zip(weights, weights[1:], strict=False))
    assert weights[-1] < bm25.k1 + 1
    gains = [b - a for a, b in zip(weights, weights[1:], strict=False)]
    assert all(a > b for a, b in zip(gains, gains[1:], strict=False))  # diminishing returns


def test_longer_passages_weigh_a_term_less(bm25: BM25Encoder) -> None:
    short = weight_of(bm25.encode_passage_lemmas(["кошка"] + ["дом"] * 10), "кошка")
    long = weight_of(bm25.encode_passage_lemmas(["кошка"] + ["дом"] * 200), "кошка")
    assert long < short


def test_colliding_lemmas_merge_into_one_index(bm25: BM25Encoder) -> None:
    first_seen: dict[int, str] = {}
    i = 0
    while True:  # the birthday bound: a 32-bit collision within ~10^5 strings
        word = f"w{i}"
        other = first_seen.setdefault(term_id(word), word)
        if other != word:
            break
        i += 1
    vector = bm25.encode_passage_lemmas([word, other, word, "дом"])
    assert len(vector.indices) == len(set(vector.indices)) == 2
    merged = bm25.encode_passage_lemmas([word, word, word, "дом"])
    assert vector == merged  # three occurrences of one term, not two terms


def test_indices_sorted_unique_and_values_positive(bm25: BM25Encoder) -> None:
    for vector in bm25.encode_passages([PASSAGE * 3]) + bm25.encode_queries([PASSAGE]):
        assert vector.indices == sorted(set(vector.indices))
        assert len(vector.indices) == len(vector.values) > 5
        assert all(v > 0 for v in vector.values)


def test_empty_inputs(bm25: BM25Encoder) -> None:
    assert bm25.encode_passages([]) == []
    assert bm25.encode_queries([]) == []
    assert bm25.encode_passages([""]) == [SparseVector()]
    assert bm25.encode_passage_lemmas([]) == SparseVector()


def test_is_a_sparse_encoder(bm25: BM25Encoder) -> None:
    assert isinstance(bm25, SparseEncoder)
    assert bm25.name == "bm25"


@pytest.mark.parametrize("kwargs", [{"k1": 0.0}, {"b": 1.5}, {"b": -0.1}, {"avg_doc_tokens": 0.0}])
def test_invalid_parameters_are_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="RUAI_BM25"):
        BM25Encoder(Lemmatizer(cache_size=0), **kwargs)


def test_factory_applies_settings(tmp_path, monkeypatch) -> None:
    profile = tmp_path / "profile.yaml"
    profile.write_text("{}\n", encoding="utf-8")
    monkeypatch.setenv("RUAI_PROFILE_FILE", str(profile))
    settings = Settings(bm25_k1=2.0, bm25_b=0.5, bm25_avg_doc_tokens=100.0, lemma_cache_size=10)
    encoder = build_sparse_encoder(settings)
    assert (encoder.k1, encoder.b, encoder.avg_doc_tokens) == (2.0, 0.5, 100.0)
    assert encoder.encode_queries(["кошки"])[0].indices == [term_id("кошка")]
