"""Training passages cut as ingestion cuts them: the answer's chunk, recall by best chunk."""

from __future__ import annotations

import numpy as np
import pytest

from ruai.encoders.sentence_transformer import packaged_minilm_path
from ruai.eval.squad import read_squad
from ruai.settings import Settings
from ruai.text.chunking import count_words
from ruai.training.pairs import load_pair_split, pair_rows
from ruai.training.passage_chunks import PassageChunker
from ruai.training.recall import PassageRecall
from ruai.training.rows import RowReport


def test_every_training_passage_is_a_chunk_that_holds_its_answer(xquad_path):
    dataset = read_squad(xquad_path)
    chunker = PassageChunker(count_words, max_tokens=40, overlap_sentences=1)
    rows = pair_rows(dataset, RowReport("dev"), chunker)
    assert len(rows) == len(dataset.questions)
    answers = {q.question.strip(): q.answers[0] for q in dataset.questions}
    held = sum(answers[row["question"]] in row["passage"] for row in rows)
    # a 40-word chunk is far shorter than a paragraph, yet holds the answer (a few answers
    # straddle a chunk border and are cut)
    assert held / len(rows) > 0.95
    assert max(count_words(row["passage"]) for row in rows) <= 40


def test_model_chunker_uses_the_ingestion_limit_in_model_tokens():
    settings = Settings(chunk_max_tokens=64)
    chunker = PassageChunker.for_model(settings, packaged_minilm_path())
    assert chunker.max_tokens == 64
    text = "Никола Тесла умер в Нью-Йорке в 1943 году. " * 20
    pieces = chunker.chunks(text)
    assert len(pieces) > 1 and all(chunker.count_tokens(p) <= 64 for p in pieces)


def test_recall_ranks_a_paragraph_by_its_best_chunk(xquad_path):
    split = load_pair_split(xquad_path, 0.2, seed=0)
    chunker = PassageChunker(count_words, max_tokens=30, overlap_sentences=0)
    recall = PassageRecall(split.validation, split.corpus, k=5, chunker=chunker)
    assert len(recall.passage_ids) == 240 and len(recall.passages) > 240
    rows = pair_rows(split.validation, RowReport("validation"), chunker)
    gold_chunk = {row["question"]: row["passage"] for row in rows}

    # an "encoder" that knows the answer: each question matches exactly its answer's chunk
    def encode_queries(texts):
        return np.stack([vector(gold_chunk[t]) for t in texts])

    def encode_passages(texts):
        return np.stack([vector(t) for t in texts])

    vectors: dict[str, np.ndarray] = {}

    def vector(text):
        if text not in vectors:
            v = np.random.default_rng(len(vectors)).normal(size=64)
            vectors[text] = v / np.linalg.norm(v)
        return vectors[text]

    metrics = recall(encode_queries, encode_passages)
    assert metrics["recall_at_1"] > 0.95


@pytest.mark.parametrize("fill", [np.nan, 1.0])  # diverged (NaN), collapsed (all alike)
def test_a_broken_model_finds_nothing(xquad_path, fill):
    split = load_pair_split(xquad_path, 0.2, seed=0)
    recall = PassageRecall(split.validation, split.corpus, k=5)

    def same_vectors(texts):
        return np.full((len(texts), 8), fill, dtype=np.float32)

    metrics = recall(same_vectors, same_vectors)
    assert metrics == {"recall_at_1": 0.0, "recall_at_5": 0.0, "mrr_at_5": 0.0}
