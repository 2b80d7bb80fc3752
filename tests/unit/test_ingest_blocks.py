"""How the ingestion job cuts a corpus into Ray Data blocks: large blocks (fewer Ray tasks) for a
large corpus, and still two blocks per stage actor for a small one."""

from __future__ import annotations

import pytest

from pipelines.ingest import files_per_block
from ruai.settings import Settings


@pytest.mark.parametrize(
    ("files", "actors", "cap", "expected"),
    [
        (1632, 2, 32, 32),  # the benchmark's corpus: the cap
        (48, 2, 32, 12),  # the sample articles: 4 blocks, two per actor
        (1000, 8, 32, 32),
        (100, 8, 32, 6),  # 17 blocks for 8 actors
        (3, 2, 32, 1),
        (1, 2, 32, 1),
        (0, 2, 32, 1),
        (1632, 2, 8, 8),  # a smaller cap is kept
    ],
)
def test_files_per_block(files: int, actors: int, cap: int, expected: int) -> None:
    settings = Settings(ingest_concurrency=actors, ingest_files_per_batch=cap)
    per_block = files_per_block(files, settings)
    assert per_block == expected
    if files >= 2 * actors:
        assert -(-files // per_block) >= 2 * actors  # every actor gets two blocks at least
