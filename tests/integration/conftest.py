from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ruai.settings import Settings

EMBEDDER_MODEL = "emb"


@pytest.fixture(scope="session")
def trained_embedder(ray_cluster, xquad_path: Path, tmp_path_factory: pytest.TempPathFactory):
    """One embedder fine-tune for the training and promotion modules (tests/support/scheduling.py
    keeps them on one worker): MiniLM on a tiny XQuAD-ru cut, 2 Ray Train workers for 2 epochs,
    the last worker killed after the first checkpoint, registered as version 1 of
    ``EMBEDDER_MODEL``. (settings, checked inputs, result, the drill's marker file)."""
    from pipelines.train_embedder import check_inputs, train_embedder
    from tests.support.tiny_squad import write_tiny_squad

    work = tmp_path_factory.mktemp("embedder")
    dataset = write_tiny_squad(xquad_path, work / "tiny.json", articles=3, questions_per_article=8)
    settings = Settings(
        dense_model="all-MiniLM-L6-v2",
        train_validation_fraction=0.34,
        train_recall_k=3,
        train_cpus_per_worker=1,
        train_max_failures=1,
        registry_dir=work / "registry",
    )
    inputs = check_inputs(settings, dataset, None)
    marker = work / "worker-killed"
    result = train_embedder(
        settings,
        inputs,
        work / "model",
        hp_overrides={"epochs": 2, "batch_size": 4, "max_seq_length": 48, "learning_rate": 5e-5},
        num_workers=2,
        use_gpu=False,
        crash_marker=marker,
        name="test-embedder",
        register_as=EMBEDDER_MODEL,
    )
    return settings, inputs, result, marker


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
