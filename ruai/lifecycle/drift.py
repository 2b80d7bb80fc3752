"""Drift statistics for the monitoring job, without Ray: a window of traffic against a reference.

- ``mmd_test``: query-embedding drift, MMD² with an RBF kernel (median-heuristic bandwidth on
  the pooled sample) and a seeded permutation p-value;
- ``score_ks_test``: retrieval confidence, a two-sample KS test on top-1 scores;
- ``language_shares``: the share of words pymorphy3 does not know and the share of questions
  without a Cyrillic letter, against thresholds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import ks_2samp

from ruai.text.lemmas import Lemmatizer
from ruai.text.morph import morph_analyzer

_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True, slots=True)
class MmdResult:
    mmd2: float  # unbiased estimate; can be slightly negative when there is no drift
    p_value: float
    bandwidth: float  # squared-distance scale of the RBF kernel: k = exp(-d² / bandwidth)
    permutations: int
    drifted: bool


@dataclass(frozen=True, slots=True)
class KsResult:
    statistic: float
    p_value: float
    drifted: bool


@dataclass(frozen=True, slots=True)
class LanguageShares:
    questions: int
    words: int
    unknown_word_share: float
    non_cyrillic_share: float
    drifted: bool


def _squared_distances(pooled: np.ndarray) -> np.ndarray:
    norms = np.einsum("ij,ij->i", pooled, pooled)
    sq = norms[:, None] + norms[None, :] - 2.0 * (pooled @ pooled.T)
    return np.maximum(sq, 0.0)


def _unbiased_mmd2(kernel: np.ndarray, in_x: np.ndarray) -> float:
    """MMD² (unbiased: diagonals excluded) of the split ``in_x`` / ``~in_x`` of a pooled kernel."""
    n, m = int(in_x.sum()), int((~in_x).sum())
    kxx = kernel[np.ix_(in_x, in_x)]
    kyy = kernel[np.ix_(~in_x, ~in_x)]
    kxy = kernel[np.ix_(in_x, ~in_x)]
    xx = (kxx.sum() - np.trace(kxx)) / (n * (n - 1))
    yy = (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(xx + yy - 2.0 * kxy.mean())


def mmd_test(
    reference: np.ndarray,
    current: np.ndarray,
    *,
    alpha: float = 0.05,
    permutations: int = 200,
    seed: int = 0,
) -> MmdResult:
    """Two-sample MMD test; ``drifted`` when the permutation p-value is below ``alpha``.

    The p-value is ``(1 + #{permuted MMD² >= observed}) / (1 + permutations)``, so it is never 0
    and a test with 200 permutations resolves p down to about 0.005.
    """
    x = np.asarray(reference, dtype=np.float64)
    y = np.asarray(current, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"need two 2-D samples of one dimension, got {x.shape} and {y.shape}")
    if len(x) < 2 or len(y) < 2:
        raise ValueError("each sample needs at least 2 rows")
    pooled = np.vstack([x, y])
    sq = _squared_distances(pooled)
    off_diagonal = sq[~np.eye(len(pooled), dtype=bool)]
    positive = off_diagonal[off_diagonal > 0]
    bandwidth = float(np.median(positive)) if positive.size else 1.0
    kernel = np.exp(-sq / bandwidth)
    in_x = np.zeros(len(pooled), dtype=bool)
    in_x[: len(x)] = True
    observed = _unbiased_mmd2(kernel, in_x)
    rng = np.random.default_rng(seed)
    exceed = sum(
        _unbiased_mmd2(kernel, rng.permutation(in_x)) >= observed for _ in range(permutations)
    )
    p_value = (1 + exceed) / (1 + permutations)
    return MmdResult(observed, p_value, bandwidth, permutations, p_value < alpha)


def score_ks_test(
    reference: Sequence[float] | np.ndarray,
    current: Sequence[float] | np.ndarray,
    *,
    alpha: float = 0.05,
) -> KsResult:
    """Two-sample Kolmogorov-Smirnov test on top-1 retrieval scores; ``drifted`` when p < alpha."""
    if len(reference) == 0 or len(current) == 0:
        raise ValueError("both score samples must be non-empty")
    result = ks_2samp(np.asarray(reference, float), np.asarray(current, float))
    p_value = float(result.pvalue)
    return KsResult(float(result.statistic), p_value, p_value < alpha)


def language_shares(
    questions: Sequence[str],
    *,
    max_unknown_word_share: float = 0.2,
    max_non_cyrillic_share: float = 0.1,
    lemmatizer: Lemmatizer | None = None,
) -> LanguageShares:
    """Shares over a batch of questions; ``drifted`` when either share exceeds its maximum.

    Words are the lemmatizer's words that hold a letter (numbers are not counted); a word is
    unknown when pymorphy3's dictionary does not hold it (Latin words never are).
    """
    words_of = (lemmatizer or Lemmatizer()).words
    morph = morph_analyzer()
    words = [w for q in questions for w in words_of(q) if _LETTER.search(w)]
    unknown = sum(not morph.word_is_known(w) for w in words)
    non_cyrillic = sum(not _CYRILLIC.search(q) for q in questions)
    unknown_share = unknown / len(words) if words else 0.0
    non_cyrillic_share = non_cyrillic / len(questions) if questions else 0.0
    return LanguageShares(
        questions=len(questions),
        words=len(words),
        unknown_word_share=unknown_share,
        non_cyrillic_share=non_cyrillic_share,
        drifted=unknown_share > max_unknown_word_share
        or non_cyrillic_share > max_non_cyrillic_share,
    )
