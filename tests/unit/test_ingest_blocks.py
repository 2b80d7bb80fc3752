"""How the ingestion job sizes its stage-actor pool (one actor per few files, up to the configured
concurrency) and cuts a corpus into Ray Data blocks: large blocks (fewer Ray tasks) for a large
corpus, and still two blocks per stage actor for a small one."""

from __future__ import annotations

import pytest

from pipelines.ingest import files_per_block, stage_actors
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
    started = stage_actors(files, settings)
    if files >= 2 * started:
        assert -(-files // per_block) >= 2 * started  # every actor gets two blocks at least


@pytest.mark.parametrize(
    ("files", "concurrency", "per_actor", "expected"),
    [
        (0, 2, 8, 1),
        (3, 2, 8, 1),  # a few files: one actor's start-up, not two
        (8, 2, 8, 1),
        (9, 2, 8, 2),
        (48, 2, 8, 2),  # the sample articles (make main): the whole pool
        (20, 8, 8, 3),
        (1000, 8, 8, 8),
        (4, 2, 1, 2),  # an actor per file when asked (the two-node test spreads 4 files)
    ],
)
def test_stage_actors_follow_the_work(
    files: int, concurrency: int, per_actor: int, expected: int
) -> None:
    settings = Settings(ingest_concurrency=concurrency, ingest_files_per_actor=per_actor)
    assert stage_actors(files, settings) == expected
