"""Passage recall of a live embedding model: held-out questions against a paragraph corpus."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ruai.eval.metrics import retrieval_report
from ruai.eval.squad import SquadDataset
from ruai.training.pairs import pair_rows
from ruai.training.passage_chunks import PassageChunker
from ruai.training.rows import RowReport

# texts -> float32 (n, dim), L2-normalised
Encode = Callable[[list[str]], np.ndarray]


class PassageRecall:
    """recall@1/k and MRR@k of validation questions over every paragraph of ``corpus``; with a
    ``chunker``, the paragraphs are cut into chunks and a paragraph ranks by its best chunk."""

    def __init__(
        self,
        validation: SquadDataset,
        corpus: SquadDataset,
        k: int,
        chunker: PassageChunker | None = None,
    ) -> None:
        rows = pair_rows(validation, RowReport("validation"))
        if not rows:
            raise ValueError("the validation articles have no usable question")
        self.questions = [row["question"] for row in rows]
        self.gold = [row["passage_id"] for row in rows]
        self.passage_ids = []
        self.passages: list[str] = []
        starts = []  # a paragraph's chunks are contiguous: its first index
        for paragraph in corpus.paragraphs:
            pieces = (
                chunker.chunks(paragraph.context)
                if chunker
                else [paragraph.context.replace("\ufeff", "").strip()]
            )
            if pieces:
                self.passage_ids.append(paragraph.paragraph_id)
                starts.append(len(self.passages))
                self.passages.extend(pieces)
        self._starts = np.asarray(starts, dtype=np.intp)
        self.ks = tuple(sorted({1, k}))

    def __call__(self, encode_queries: Encode, encode_passages: Encode) -> dict[str, float]:
        chunk_scores = encode_queries(self.questions) @ encode_passages(self.passages).T
        scores = np.maximum.reduceat(chunk_scores, self._starts, axis=1)
        # ties count against the gold paragraph: a collapsed model (every vector alike) or a
        # diverged one (NaN) must not score by the corpus's file order
        scores = np.where(np.isfinite(scores), np.round(scores, 6), -np.inf)
        ranked = []
        for row, gold in zip(scores, self.gold, strict=True):
            is_gold = np.fromiter((pid == gold for pid in self.passage_ids), bool, len(row))
            order = np.lexsort((is_gold, -row))[: max(self.ks)]
            ranked.append([self.passage_ids[i] for i in order])
        report = retrieval_report(ranked, self.gold, self.ks)
        # MLflow refuses "@" in metric names: recall@5 is reported as recall_at_5
        return {
            name.replace("@", "_at_"): float(value)
            for name, value in report.items()
            if name != "questions"
        }
