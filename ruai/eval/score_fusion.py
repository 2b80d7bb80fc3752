"""Linear fusion over every chunk of a small collection, in numpy, for cross-validating a dense
side that changes per fold (a query projection fitted on the training folds) without
re-querying the engine: the engine's BM25 scores of every (question, chunk) are read once, the
dense cosines are a matrix product, and a chunk scores ``dense_weight * cos + BM25`` as the
engine's ``fusion=linear`` does (here over all chunks, not two top-k prefetches).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def paragraph_rankings(
    chunk_scores: np.ndarray, chunk_paragraphs: Sequence[str | None], k: int = 10
) -> list[list[str]]:
    """Per question (row), the ids of the ``k`` best paragraphs; a paragraph takes the best
    score of its chunks (chunks without a paragraph are skipped)."""
    order = np.argsort(-chunk_scores, axis=1, kind="stable")
    ranked = []
    for row in order:
        seen: list[str] = []
        for j in row:
            pid = chunk_paragraphs[j]
            if pid is not None and pid not in seen:
                seen.append(pid)
                if len(seen) == k:
                    break
        ranked.append(seen)
    return ranked


def linear_fusion(
    queries: np.ndarray, passages: np.ndarray, sparse: np.ndarray, dense_weight: float
) -> np.ndarray:
    """(questions, chunks) scores ``dense_weight * cos(q, p) + BM25``; rows are L2-normalised."""
    if dense_weight == 0.0:
        return sparse
    return dense_weight * (queries @ passages.T) + sparse


def without_components(
    queries: np.ndarray, passages: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Both sides with the top ``n`` principal directions of the passages projected out and
    re-normalised (SIF's second step, fitted on the collection's passages; no questions)."""
    if n == 0:
        return queries, passages
    components = np.linalg.svd(passages, full_matrices=False)[2][:n]

    def strip(x: np.ndarray) -> np.ndarray:
        x = x - (x @ components.T) @ components
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)

    return strip(queries), strip(passages)
