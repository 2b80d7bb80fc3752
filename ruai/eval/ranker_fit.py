"""Fit the extractive answerer's sentence ranker (``ruai.llm.sentence_features``) on SQuAD-format
questions: a listwise logistic regression over each question's candidate sentences.

For each question the candidates are the sentences of its retrieved passages; those holding a
gold answer (``contains_answer``) are the positives. The model maximises, over questions with at
least one positive, the log of the softmax probability mass on the positives, with an L2
penalty, fitted by gradient descent in numpy (a dozen weights: seconds on a CPU).
Questions without a positive candidate (retrieval missed) carry no signal and are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ruai.eval.answer_metrics import contains_answer
from ruai.llm.sentence_features import FEATURES, Candidate


@dataclass(slots=True)
class RankingExample:
    """One question's candidate features and which candidates hold a gold answer."""

    features: np.ndarray
    positive: np.ndarray


def ranking_example(
    golds: Sequence[str], candidates: Sequence[Candidate], features: np.ndarray
) -> RankingExample | None:
    """The example of one question from its candidates and their features
    (``ExtractiveAnswerer.candidate_features``); None when no candidate holds a gold answer."""
    positive = np.array([contains_answer(c.sentence, golds) for c in candidates], dtype=bool)
    return RankingExample(features, positive) if positive.any() else None


def fit_ranker(
    examples: Sequence[RankingExample], l2: float = 1.0, steps: int = 500
) -> dict[str, float]:
    """Weights by name (``FEATURES``) maximising the mean log softmax mass on the positives."""
    if not examples:
        raise ValueError("no ranking examples to fit")
    # one padded batch: (questions, most candidates, features), padding masked out
    longest = max(len(e.positive) for e in examples)
    x = np.zeros((len(examples), longest, len(FEATURES)))
    valid = np.zeros((len(examples), longest), dtype=bool)
    positive = np.zeros_like(valid)
    for i, e in enumerate(examples):
        n = len(e.positive)
        x[i, :n], valid[i, :n], positive[i, :n] = e.features, True, e.positive
    penalty = l2 / len(examples)

    def loss_and_gradient(w: np.ndarray) -> tuple[float, np.ndarray]:
        scores = x @ w
        every, p_every = _log_softmax_mass(scores, valid)
        held, p_held = _log_softmax_mass(scores, positive)
        loss = float(np.mean(every - held)) + 0.5 * penalty * float(w @ w)
        expected = np.einsum("qm,qmf->f", p_every - p_held, x) / len(examples)
        return loss, expected + penalty * w

    # gradient descent with a backtracking (Armijo) line search: a dozen weights, convex
    # enough in practice; each step is one pass over the padded batch
    weights = np.zeros(len(FEATURES))
    loss, gradient = loss_and_gradient(weights)
    step = 1.0
    for _ in range(steps):
        while step > 1e-8:
            trial = weights - step * gradient
            trial_loss, trial_gradient = loss_and_gradient(trial)
            if trial_loss <= loss - 0.5 * step * float(gradient @ gradient):
                break
            step /= 2
        if loss - trial_loss < 1e-10:
            break
        weights, loss, gradient, step = trial, trial_loss, trial_gradient, step * 2
    return {name: round(float(w), 4) for name, w in zip(FEATURES, weights, strict=True)}


def _log_softmax_mass(scores: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per question: log of the summed exp(score) over the masked candidates, and each masked
    candidate's share of that sum (0 elsewhere)."""
    masked = np.where(mask, scores, -np.inf)
    top = masked.max(axis=1, keepdims=True)
    exp = np.where(mask, np.exp(masked - top), 0.0)
    total = exp.sum(axis=1, keepdims=True)
    return np.log(total[:, 0]) + top[:, 0], exp / total
