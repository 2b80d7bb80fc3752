"""Fit the extractive answerer's sentence ranker (``ruai.llm.sentence_features``) on SQuAD-format
questions: a listwise logistic regression over each question's candidate sentences.

For each question the candidates are the sentences of its retrieved passages; those holding a
gold answer (``contains_answer``) are the positives. The model maximises, over questions with at
least one positive, the log of the softmax probability mass on the positives, with an L2
penalty; torch's L-BFGS fits it (a convex problem of a dozen weights, a second on a CPU).
Questions without a positive candidate (retrieval missed) carry no signal and are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ruai.eval.answer_metrics import contains_answer
from ruai.llm.answer_type import expected_answer_type
from ruai.llm.passages import Passage
from ruai.llm.sentence_features import FEATURES, feature_matrix, sentence_candidates
from ruai.text.lemmas import Lemmatizer


@dataclass(slots=True)
class RankingExample:
    """One question's candidate features and which candidates hold a gold answer."""

    features: np.ndarray
    positive: np.ndarray


def ranking_example(
    question: str, golds: Sequence[str], passages: list[Passage], lemmatizer: Lemmatizer
) -> RankingExample | None:
    """None when the question has no lemma, or no candidate holds a gold answer."""
    lemmas = lemmatizer.lemmas(question)
    candidates = sentence_candidates(passages, lemmatizer)
    positive = np.array([contains_answer(c.sentence, golds) for c in candidates], dtype=bool)
    if not lemmas or not positive.any():
        return None
    features = feature_matrix(question, lemmas, expected_answer_type(question), candidates)
    return RankingExample(features, positive)


def fit_ranker(examples: Sequence[RankingExample], l2: float = 1.0) -> dict[str, float]:
    """Weights by name (``FEATURES``) maximising the mean log softmax mass on the positives."""
    import torch

    if not examples:
        raise ValueError("no ranking examples to fit")
    xs = [torch.as_tensor(e.features, dtype=torch.float64) for e in examples]
    masks = [torch.as_tensor(e.positive) for e in examples]
    weights = torch.zeros(len(FEATURES), dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([weights], max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = weights.new_zeros(())
        for x, mask in zip(xs, masks, strict=True):
            scores = x @ weights
            loss = loss - (torch.logsumexp(scores[mask], 0) - torch.logsumexp(scores, 0))
        loss = (loss + 0.5 * l2 * (weights**2).sum()) / len(xs)
        loss.backward()
        return loss

    optimiser.step(closure)
    return {name: round(float(w), 4) for name, w in zip(FEATURES, weights.detach(), strict=True)}
