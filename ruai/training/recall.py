"""Passage recall of a live embedding model: held-out questions against a paragraph corpus."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ruai.eval.metrics import retrieval_report
from ruai.eval.squad import SquadDataset
from ruai.training.pairs import pair_rows
from ruai.training.rows import RowReport

# texts -> float32 (n, dim), L2-normalised
Encode = Callable[[list[str]], np.ndarray]


class PassageRecall:
    """recall@1/k and MRR@k of validation questions over every paragraph of ``corpus``."""

    def __init__(self, validation: SquadDataset, corpus: SquadDataset, k: int) -> None:
        rows = pair_rows(validation, RowReport("validation"))
        if not rows:
            raise ValueError("the validation articles have no usable question")
        self.questions = [row["question"] for row in rows]
        self.gold = [row["passage_id"] for row in rows]
        self.passage_ids = [p.paragraph_id for p in corpus.paragraphs]
        self.passages = [p.context.replace("\ufeff", "").strip() for p in corpus.paragraphs]
        self.ks = tuple(sorted({1, k}))

    def __call__(self, encode_queries: Encode, encode_passages: Encode) -> dict[str, float]:
        scores = encode_queries(self.questions) @ encode_passages(self.passages).T
        top = np.argsort(-scores, axis=1)[:, : max(self.ks)]
        ranked = [[self.passage_ids[i] for i in row] for row in top]
        report = retrieval_report(ranked, self.gold, self.ks)
        # MLflow refuses "@" in metric names: recall@5 is reported as recall_at_5
        return {
            name.replace("@", "_at_"): float(value)
            for name, value in report.items()
            if name != "questions"
        }
