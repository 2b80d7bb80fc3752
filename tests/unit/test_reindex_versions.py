"""The version bookkeeping of a blue/green re-index (pipelines/reindex.py) on every real backend,
without Ray: which collection a re-index starts from, how a new version is settled (recorded,
flipped to, or left incomplete), and where --rollback and the cleanup go afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.reindex import (
    ReindexIncompleteError,
    ReindexReport,
    drop_old,
    flip_to,
    live_version,
    rollback,
    settle,
)
from ruai.settings import Settings
from ruai.store import SearchRequest, StoreError, VectorStore
from ruai.store.aliases import CollectionVersion
from tests.unit.test_store_contract import BACKENDS, CORPUS, DIM, _open

ALIAS = "docs"
V1, V2, V3 = "docs__v1", "docs__v2", "docs__v3"


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path):
    """``docs`` → ``docs__v1``, which holds the whole corpus."""
    opened = _open(request.param, tmp_path)
    opened.ensure_collection(V1, DIM)
    opened.upsert(V1, CORPUS)
    opened.record_version(CollectionVersion(V1, model="model-a", dim=DIM, complete=True))
    opened.flip_alias(ALIAS, V1)
    yield opened
    opened.close()


def _build(store: VectorStore, version: str, points: int) -> ReindexReport:
    """What run_reindex leaves before settling: VERSION written with POINTS of the corpus."""
    store.ensure_collection(version, DIM)
    store.upsert(version, CORPUS[:points])
    return ReindexReport(ALIAS, "model-b", source_version=V1, new_version=version, dim=DIM)


def test_a_version_of_an_alias_is_not_re_indexed_as_a_collection(
    store: VectorStore, tmp_path: Path
) -> None:
    settings = Settings(qdrant_path=tmp_path, dense_model="navec")
    with pytest.raises(StoreError, match=f"version of the alias '{ALIAS}'.*--collection {ALIAS}"):
        live_version(store, V1, settings)
    assert live_version(store, ALIAS, settings).name == V1
    assert store.collection_names() == [V1]
    assert store.alias_targets() == {ALIAS: V1}
    assert len(store.search(ALIAS, SearchRequest(dense=CORPUS[0].dense, limit=3))) == 3


def test_rollback_and_cleanup_pass_over_an_incomplete_version(store: VectorStore) -> None:
    with pytest.raises(ReindexIncompleteError, match=V2):
        settle(store, _build(store, V2, points=5), flip=True, keep=2)
    assert store.alias_targets() == {ALIAS: V1}
    assert store.version_of(V2).complete is False

    report = settle(store, _build(store, V3, points=len(CORPUS)), flip=True, keep=2)

    assert report.flipped and store.alias_targets() == {ALIAS: V3}
    assert store.version_of(V3) == CollectionVersion(
        V3, "model-b", DIM, store.version_of(V3).created, source=V1, complete=True
    )
    assert report.dropped == [V2]  # incomplete: not one of the two kept
    assert [v.name for v in store.versions_of(ALIAS)] == [V1, V3]
    assert rollback(store, ALIAS) == (V3, V1)
    assert store.count(ALIAS) == len(CORPUS)


def test_flip_to_refuses_an_incomplete_version(store: VectorStore) -> None:
    with pytest.raises(ReindexIncompleteError):
        settle(store, _build(store, V2, points=5), flip=False, keep=0)
    with pytest.raises(StoreError, match=f"'{V2}' is incomplete"):
        flip_to(store, ALIAS, V2)
    assert store.alias_targets() == {ALIAS: V1}

    settle(store, _build(store, V3, points=len(CORPUS)), flip=False, keep=0)
    assert flip_to(store, ALIAS, V3) == (V1, V3)
    assert store.alias_targets() == {ALIAS: V3}


def test_rollback_goes_to_the_version_live_before_the_live_one(store: VectorStore) -> None:
    """A staged version (never live) between them is passed over, and an incomplete one left
    behind is dropped by an explicit cleanup whatever --keep says."""
    settle(store, _build(store, V2, points=len(CORPUS)), flip=False, keep=0)
    with pytest.raises(ReindexIncompleteError):
        settle(store, _build(store, V3, points=1), flip=False, keep=0)
    v4 = _build(store, "docs__v4", points=len(CORPUS))
    settle(store, v4, flip=True, keep=0)

    assert rollback(store, ALIAS) == ("docs__v4", V1)
    assert drop_old(store, ALIAS, keep=10) == ([V3], [])


def test_cleanup_spares_a_version_an_experiment_arm_searches(store: VectorStore) -> None:
    """A staged version that a canary arm searches by name stays through the cleanup after a
    later flip and through --drop-old, reported as kept for the arm; once no arm names it, it
    goes like any other."""
    settle(store, _build(store, V2, points=len(CORPUS)), flip=False, keep=0)  # the canary's
    report = settle(
        store, _build(store, V3, points=len(CORPUS)), flip=True, keep=1, serving={V2, "other"}
    )
    assert (report.dropped, report.kept_for_arms) == ([V1], [V2])
    assert store.collection_exists(V2)
    assert store.count(V2) == len(CORPUS)

    assert drop_old(store, ALIAS, keep=1, serving={V2}) == ([], [V2])
    assert drop_old(store, ALIAS, keep=1) == ([V2], [])
    assert not store.collection_exists(V2)
