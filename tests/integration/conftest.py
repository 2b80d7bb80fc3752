from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ruai.settings import Settings


@pytest.fixture
def make_settings(tmp_path: Path, ray_cluster):
    """Settings on a fresh embedded store; its owner actor is released after the test."""
    from raystore import release_store

    made: list[Settings] = []

    def make(**overrides) -> Settings:
        settings = Settings(
            **({"qdrant_path": tmp_path / f"qdrant{len(made)}", "collection": "test"} | overrides)
        )
        made.append(settings)
        return settings

    yield make
    for settings in made:
        release_store(settings)


def copy_articles(sample_articles: Path, out: Path, count: int = 3) -> Path:
    """The first ``count`` sample articles, copied into ``out`` (created)."""
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(sample_articles.glob("*.md"))[:count]:
        shutil.copy(path, out / path.name)
    return out


@pytest.fixture
def few_articles(sample_articles: Path, tmp_path: Path) -> Path:
    """A private copy of three sample articles that a test may modify."""
    return copy_articles(sample_articles, tmp_path / "docs")
