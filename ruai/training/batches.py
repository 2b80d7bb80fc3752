"""Column batches of in-memory pair rows, reshuffled each epoch (Tune trials, benchmarks)."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence


def shuffled_batches(
    rows: Sequence[dict[str, str]], batch_size: int, seed: int
) -> Iterator[dict[str, list[str]]]:
    """``rows`` in a seeded random order, as ``{column: [values]}`` batches of ``batch_size``."""
    order = list(rows)
    random.Random(seed).shuffle(order)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        yield {column: [row[column] for row in chunk] for column in chunk[0]}
