"""Hard negatives: the best-ranked retrieved passage that is not the question's own passage."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ruai.eval.paragraph_index import normalise_for_matching

# question -> (id, text) of retrieved passages, best first
Search = Callable[[str], Sequence[tuple[str, str]]]


def pick_hard_negative(
    gold_passage: str, candidates: Sequence[tuple[str, str]]
) -> tuple[str, str] | None:
    """The first candidate that neither contains nor is contained in the gold passage (a chunk
    of the gold paragraph is a positive, not a negative)."""
    gold = normalise_for_matching(gold_passage)
    for candidate_id, text in candidates:
        candidate = normalise_for_matching(text)
        if candidate and candidate not in gold and gold not in candidate:
            return candidate_id, text
    return None


def with_hard_negatives(rows: list[dict[str, str]], search: Search) -> tuple[list[dict], int]:
    """Rows that gained a ``negative``/``negative_id``, and how many rows found none (dropped:
    every row of a batch must have the same columns)."""
    kept, missing = [], 0
    for row in rows:
        found = pick_hard_negative(row["passage"], search(row["question"]))
        if found is None:
            missing += 1
            continue
        kept.append(row | {"negative_id": f"neg:{found[0]}", "negative": found[1]})
    return kept, missing
