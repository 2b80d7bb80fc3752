"""Retrieval metrics over ranked id lists: recall@k and MRR@k, computed exactly.

Each question has one gold id. A ranked list is deduplicated (first occurrence wins) before it
is cut at k, so a paragraph retrieved through several of its chunks takes one rank, and k counts
distinct ids. A gold id absent from the top k scores 0 for that question.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction


def recall_at_k(ranked_ids: Sequence[Sequence[str]], gold: Sequence[str], k: int) -> float:
    """Fraction of questions whose gold id is among the first k distinct ranked ids."""
    ranks = _gold_ranks(ranked_ids, gold, k)
    return float(Fraction(sum(1 for r in ranks if r is not None), len(ranks)))


def mrr_at_k(ranked_ids: Sequence[Sequence[str]], gold: Sequence[str], k: int) -> float:
    """Mean over questions of 1/rank of the gold id within the first k distinct ids (else 0)."""
    ranks = _gold_ranks(ranked_ids, gold, k)
    return float(sum((Fraction(1, r) for r in ranks if r is not None), Fraction(0)) / len(ranks))


def retrieval_report(
    ranked: Sequence[Sequence[str]], gold: Sequence[str], ks: Sequence[int] = (1, 5, 10)
) -> dict[str, float | int]:
    """``{"recall@k" for k in ks, "mrr@<max k>", "questions"}``."""
    if not ks:
        raise ValueError("ks must name at least one cut-off")
    report: dict[str, float | int] = {f"recall@{k}": recall_at_k(ranked, gold, k) for k in ks}
    report[f"mrr@{max(ks)}"] = mrr_at_k(ranked, gold, max(ks))
    report["questions"] = len(gold)
    return report


def _gold_ranks(
    ranked_ids: Sequence[Sequence[str]], gold: Sequence[str], k: int
) -> list[int | None]:
    """1-based rank of each question's gold id among its first k distinct ids, or None."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if len(ranked_ids) != len(gold):
        raise ValueError(
            f"{len(ranked_ids)} ranked lists for {len(gold)} gold ids: need one list per question"
        )
    if not gold:
        raise ValueError("no questions to evaluate")
    ranks: list[int | None] = []
    for ids, gold_id in zip(ranked_ids, gold, strict=True):
        distinct = list(dict.fromkeys(ids))[:k]
        ranks.append(distinct.index(gold_id) + 1 if gold_id in distinct else None)
    return ranks
