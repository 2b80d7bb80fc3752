"""Collection versions behind an alias, on every real backend (Qdrant Edge with its alias map,
qdrant-client local mode with Qdrant's collection aliases): adopting a plain collection,
resolving, flipping atomically, the version record, scrolling whole points, guarded drops."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ruai.store import SearchRequest, StoreError, VectorStore
from ruai.store.aliases import ALIAS_FILE, CollectionVersion, EdgeAliasBook, version_number
from ruai.store.edge import EdgeStore
from tests.unit.test_store_contract import BACKENDS, CHUNKS_PER_DOC, CORPUS, DIM, _open

ALIAS = "docs"
V1, V2 = "docs__v1", "docs__v2"


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path):
    opened = _open(request.param, tmp_path)
    opened.ensure_collection(ALIAS, DIM)
    opened.upsert(ALIAS, CORPUS)
    opened.adopt_collection(ALIAS, CollectionVersion(V1, model="model-a", dim=DIM))
    yield opened
    opened.close()


def _flipped_corpus():
    """The corpus with every dense vector negated: a query finds another nearest point."""
    return [type(p)(p.id, (-np.asarray(p.dense)).tolist(), p.sparse, p.payload) for p in CORPUS]


def _top(store: VectorStore, name: str, dense: list[float]) -> str:
    (hit,) = store.search(name, SearchRequest(dense=dense, tenant="acme", limit=1))
    return hit.id


def test_adopting_makes_the_name_an_alias_of_version_1(store: VectorStore) -> None:
    assert store.collection_names() == [V1]
    assert store.alias_targets() == {ALIAS: V1}
    assert store.collection_exists(ALIAS) and store.collection_exists(V1)
    assert store.count(ALIAS) == store.count(V1) == len(CORPUS)
    assert store.version_of(ALIAS) == CollectionVersion(V1, model="model-a", dim=DIM)
    assert store.version_of(V1).name == V1  # a concrete version may be named as well
    assert _top(store, ALIAS, CORPUS[0].dense) == CORPUS[0].id
    # ingestion into the alias checks and writes the live version
    store.ensure_collection(ALIAS, DIM)
    with pytest.raises(StoreError, match="-d"):
        store.ensure_collection(ALIAS, DIM + 1)
    store.delete_doc(ALIAS, CORPUS[0].payload["doc_id"])
    assert store.count(V1) == len(CORPUS) - CHUNKS_PER_DOC


def test_flip_points_every_call_at_the_new_version_and_back(store: VectorStore) -> None:
    store.ensure_collection(V2, DIM)
    store.upsert(V2, _flipped_corpus())
    store.record_version(CollectionVersion(V2, model="model-b", dim=DIM, source=V1))
    query = CORPUS[0].dense
    old_top = _top(store, ALIAS, query)
    new_top = _top(store, V2, query)
    assert old_top != new_top

    assert store.flip_alias(ALIAS, V2) == V1
    assert _top(store, ALIAS, query) == new_top
    assert store.version_of(ALIAS).model == "model-b"
    assert [v.name for v in store.versions_of(ALIAS)] == [V1, V2]
    assert store.flip_alias(ALIAS, V1) == V2
    assert _top(store, ALIAS, query) == old_top
    with pytest.raises(StoreError, match="no such collection"):
        store.flip_alias(ALIAS, "docs__v9")


def test_the_live_version_and_the_alias_cannot_be_dropped(store: VectorStore) -> None:
    store.ensure_collection(V2, DIM)
    store.record_version(CollectionVersion(V2, model="model-b", dim=DIM))
    for name in (ALIAS, V1):
        with pytest.raises(StoreError, match="flip the alias"):
            store.drop_collection(name)
    store.drop_collection(V2)
    assert store.collection_names() == [V1]
    assert store.version_of(V2) == CollectionVersion(V2)  # the record went with it


def test_a_version_of_an_alias_is_never_adopted(store: VectorStore) -> None:
    store.ensure_collection(V2, DIM)
    store.record_version(CollectionVersion(V2, model="model-b", dim=DIM))
    for version in (V1, V2):  # the live one, and another
        with pytest.raises(StoreError, match=f"version of the alias '{ALIAS}'"):
            store.adopt_collection(version, CollectionVersion(f"{version}__v1", dim=DIM))
    assert store.collection_names() == [V1, V2]
    assert store.alias_targets() == {ALIAS: V1}
    assert store.count(ALIAS) == len(CORPUS)
    assert _top(store, ALIAS, CORPUS[0].dense) == CORPUS[0].id


def test_scroll_points_reads_back_vectors_and_payloads(store: VectorStore) -> None:
    points, offset = [], None
    while True:
        page, offset = store.scroll_points(ALIAS, offset, limit=5)
        points.extend(page)
        if offset is None:
            break
    by_id = {p.id: p for p in points}
    assert sorted(by_id) == sorted(p.id for p in CORPUS)
    for original in CORPUS:
        read = by_id[original.id]
        np.testing.assert_allclose(read.dense, original.dense, atol=1e-6)
        assert read.sparse.indices == original.sparse.indices
        np.testing.assert_allclose(read.sparse.values, original.sparse.values, atol=1e-6)
        assert read.payload == original.payload


def test_edge_alias_map_is_one_json_file_replaced_whole(tmp_path: Path) -> None:
    root = tmp_path / "edge"
    store = EdgeStore(root)
    store.ensure_collection(V1, DIM)
    store.flip_alias(ALIAS, V1)
    reader = EdgeAliasBook(root)  # another process's view of the same map
    assert reader.resolve(ALIAS) == V1 and reader.resolve("other") == "other"
    store.ensure_collection(V2, DIM)
    store.flip_alias(ALIAS, V2)
    assert reader.resolve(ALIAS) == V2  # re-read because the file changed
    assert json.loads((root / ALIAS_FILE).read_text())["aliases"] == {ALIAS: V2}
    assert not list(root.glob(".aliases-*"))  # no temporary file left behind
    store.close()


def test_version_numbers() -> None:
    assert version_number(ALIAS, "docs__v12") == 12
    assert version_number(ALIAS, "docs__v") is None
    assert version_number(ALIAS, "docs2__v1") is None
