"""The VectorStore contract, run against every real backend: Qdrant Edge (a shard in tmp_path),
qdrant-client local mode on disk and in memory (the raystore/ proxies run the same tests in
tests/integration/test_store_contract_ray.py, on the session's Ray cluster). Plus what only one
backend has: Edge's one-process shard lock, the client's unreachable-server error, open_store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from ruai.encoders.base import SparseVector
from ruai.settings import Settings
from ruai.store import (
    CollectionNotFoundError,
    FusionConfig,
    PointRecord,
    SearchRequest,
    StoreError,
    VectorStore,
    open_store,
)
from ruai.store.client import QdrantClientStore
from ruai.store.doc_state_tally import MIXED_VERSIONS
from ruai.store.edge import EDGE_CONFIG_FILE, EdgeStore
from ruai.store.hnsw import HnswBuild, HnswSearch
from ruai.store.shard_lock import ShardLockedError

REPO = Path(__file__).resolve().parents[2]
COLLECTION = "docs"
DIM = 32
TENANTS = ("acme", "globex")
DOCS_PER_TENANT = 3
CHUNKS_PER_DOC = 4
COMMON_TERM = 0  # every chunk has it, with a distinct weight, so sparse scores never tie
BACKENDS = ("edge", "client-path", "client-memory")


def _unit(v: np.ndarray) -> list[float]:
    return (v / np.linalg.norm(v)).astype(np.float32).tolist()


def _rare_term(i: int) -> int:
    return 1000 + i


def _build_corpus() -> list[PointRecord]:
    rng = np.random.default_rng(7)
    points = []
    i = 0
    for tenant in TENANTS:
        for d in range(DOCS_PER_TENANT):
            doc_id = f"{tenant}-doc{d}"
            for c in range(CHUNKS_PER_DOC):
                sparse = SparseVector(
                    [COMMON_TERM, 100 + d, _rare_term(i)], [0.5 + 0.01 * i, 1.0, 1.0]
                )
                payload = {
                    "text": f"чанк {c} документа {doc_id}",
                    "source": f"file:///corpus/{doc_id}.txt",
                    "title": doc_id,
                    "doc_id": doc_id,
                    "chunk_index": c,
                    "content_hash": f"hash-{doc_id}-v1",
                    "tenant": tenant,
                    "entities": [],
                    "char_start": 0,
                    "char_end": 10,
                }
                point_id = f"00000000-0000-4000-8000-{i:012d}"
                points.append(PointRecord(point_id, _unit(rng.normal(size=DIM)), sparse, payload))
                i += 1
    return points


CORPUS = _build_corpus()


def _near(point: PointRecord, seed: int = 1) -> list[float]:
    """A dense query close to ``point`` (cosine ~0.99), never equal to it."""
    noise = np.random.default_rng(seed).normal(scale=0.1 / np.sqrt(DIM), size=DIM)
    return _unit(np.asarray(point.dense) + noise)


def _rare(point: PointRecord) -> SparseVector:
    return SparseVector([point.sparse.indices[-1]], [1.0])


def _open(kind: str, root: Path, **hnsw: HnswBuild | HnswSearch) -> VectorStore:
    if kind == "edge":
        return EdgeStore(root / "edge", **hnsw)
    if kind == "client-path":
        return QdrantClientStore(path=root / "local", **hnsw)
    return QdrantClientStore(location=":memory:", **hnsw)


@pytest.fixture(params=BACKENDS)
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def store(kind: str, tmp_path: Path):
    opened = _open(kind, tmp_path)
    yield opened
    opened.close()


@pytest.fixture
def filled(store: VectorStore) -> VectorStore:
    store.ensure_collection(COLLECTION, DIM)
    assert store.upsert(COLLECTION, CORPUS) == len(CORPUS)
    return store


def _ids(hits) -> list[str]:
    return [h.id for h in hits]


# -- collections ---------------------------------------------------------------------------


def test_ensure_collection_is_idempotent_and_refuses_another_dim(store: VectorStore) -> None:
    assert not store.collection_exists(COLLECTION)
    store.ensure_collection(COLLECTION, DIM)
    store.ensure_collection(COLLECTION, DIM)
    assert store.collection_exists(COLLECTION)
    assert store.count(COLLECTION) == 0
    with pytest.raises(StoreError, match=rf"{DIM}-d dense vectors.*{DIM + 1}-d"):
        store.ensure_collection(COLLECTION, DIM + 1)


def test_drop_collection(filled: VectorStore) -> None:
    filled.drop_collection(COLLECTION)
    assert not filled.collection_exists(COLLECTION)
    filled.drop_collection(COLLECTION)  # dropping what is gone is a no-op
    filled.ensure_collection(COLLECTION, DIM)
    assert filled.count(COLLECTION) == 0


def test_missing_collection_raises_collection_not_found(store: VectorStore) -> None:
    request = SearchRequest(dense=CORPUS[0].dense)
    with pytest.raises(CollectionNotFoundError, match="nowhere"):
        store.search("nowhere", request)
    with pytest.raises(CollectionNotFoundError):
        store.count("nowhere")
    with pytest.raises(CollectionNotFoundError):
        store.upsert("nowhere", CORPUS[:1])


# -- writes --------------------------------------------------------------------------------


def test_upsert_then_count_and_upsert_again_replaces(filled: VectorStore) -> None:
    per_tenant = DOCS_PER_TENANT * CHUNKS_PER_DOC
    assert filled.count(COLLECTION) == len(CORPUS)
    assert filled.count(COLLECTION, tenant="acme") == per_tenant
    assert filled.count(COLLECTION, tenant="nobody") == 0
    changed = [
        PointRecord(p.id, p.dense, p.sparse, p.payload | {"text": "новый текст"})
        for p in CORPUS[:3]
    ]
    assert filled.upsert(COLLECTION, changed) == 3
    assert filled.upsert(COLLECTION, []) == 0
    assert filled.count(COLLECTION) == len(CORPUS)
    hit = filled.search(COLLECTION, SearchRequest(dense=_near(CORPUS[0]), limit=1))[0]
    assert hit.id == CORPUS[0].id and hit.payload["text"] == "новый текст"


def test_retrieve_reads_whole_points_by_id_in_the_order_asked(filled: VectorStore) -> None:
    absent = "30000000-0000-4000-8000-000000000001"
    wanted = [CORPUS[7], CORPUS[2]]
    points = filled.retrieve(COLLECTION, [wanted[0].id, absent, wanted[1].id, wanted[0].id])
    assert [p.id for p in points] == [p.id for p in wanted]
    for point, stored in zip(points, wanted, strict=True):
        assert point.payload == stored.payload
        assert point.dense == pytest.approx(stored.dense, abs=1e-6)
        assert point.sparse.indices == stored.sparse.indices
        assert point.sparse.values == pytest.approx(stored.sparse.values)
    assert filled.retrieve(COLLECTION, []) == []
    filled.delete_doc(COLLECTION, wanted[0].payload["doc_id"])
    assert [p.id for p in filled.retrieve(COLLECTION, [wanted[0].id])] == []
    with pytest.raises(CollectionNotFoundError):
        filled.retrieve("nowhere", [wanted[1].id])


def test_delete_doc(filled: VectorStore) -> None:
    filled.delete_doc(COLLECTION, "acme-doc1")
    assert filled.count(COLLECTION) == len(CORPUS) - CHUNKS_PER_DOC
    assert "acme-doc1" not in filled.doc_states(COLLECTION)
    filled.delete_doc(COLLECTION, "no-such-doc")
    assert filled.count(COLLECTION) == len(CORPUS) - CHUNKS_PER_DOC


def test_replacing_a_doc_keeps_only_the_new_version(filled: VectorStore) -> None:
    """A shorter new version overwrites chunks 0-1 (same ids); delete_doc with the new hash
    then removes the old version's chunks 2-3 and nothing else."""
    old = [p for p in CORPUS if p.payload["doc_id"] == "acme-doc2"]
    new = [
        PointRecord(p.id, p.dense, p.sparse, p.payload | {"content_hash": "hash-v2"})
        for p in old[:2]
    ]
    filled.upsert(COLLECTION, new)
    mixed = filled.doc_states(COLLECTION)["acme-doc2"]
    assert (mixed.points, mixed.content_hash) == (CHUNKS_PER_DOC, MIXED_VERSIONS)

    filled.delete_doc(COLLECTION, "acme-doc2", keep_content_hash="hash-v2")
    state = filled.doc_states(COLLECTION)["acme-doc2"]
    assert (state.points, state.content_hash) == (2, "hash-v2")
    assert filled.count(COLLECTION) == len(CORPUS) - 2
    hits = filled.search(COLLECTION, SearchRequest(sparse=_rare(old[3]), limit=5))
    assert old[3].id not in _ids(hits)


def test_delete_docs_replaces_and_removes_in_one_request(filled: VectorStore) -> None:
    """One call: acme-doc0 keeps only its new version, acme-doc1 goes entirely, and a doc whose
    new hash is another doc's old one (a copied file) still loses its own old points."""
    doc0 = [p for p in CORPUS if p.payload["doc_id"] == "acme-doc0"]
    renewed = doc0[0].payload | {"content_hash": "hash-v2"}
    filled.upsert(COLLECTION, [PointRecord(doc0[0].id, doc0[0].dense, doc0[0].sparse, renewed)])
    doc2 = [p for p in CORPUS if p.payload["doc_id"] == "acme-doc2"]
    copied = doc2[0].payload | {"content_hash": "hash-acme-doc1-v1"}
    filled.upsert(COLLECTION, [PointRecord(doc2[0].id, doc2[0].dense, doc2[0].sparse, copied)])
    filled.delete_docs(
        COLLECTION,
        {"acme-doc0": "hash-v2", "acme-doc1": None, "acme-doc2": "hash-acme-doc1-v1"},
    )
    states = filled.doc_states(COLLECTION)
    assert "acme-doc1" not in states
    assert (states["acme-doc0"].points, states["acme-doc0"].content_hash) == (1, "hash-v2")
    assert (states["acme-doc2"].points, states["acme-doc2"].content_hash) == (
        1,
        "hash-acme-doc1-v1",
    )
    assert filled.count(COLLECTION) == len(CORPUS) - 3 * CHUNKS_PER_DOC + 2
    filled.delete_docs(COLLECTION, {})
    assert filled.count(COLLECTION) == len(CORPUS) - 3 * CHUNKS_PER_DOC + 2


def test_doc_states_carry_the_source_marker(filled: VectorStore) -> None:
    doc = [p for p in CORPUS if p.payload["doc_id"] == "globex-doc1"]
    marked = [
        PointRecord(p.id, p.dense, p.sparse, p.payload | {"source_marker": "120:1700000000"})
        for p in doc
    ]
    filled.upsert(COLLECTION, marked)
    states = filled.doc_states(COLLECTION)
    assert states["globex-doc1"].marker == "120:1700000000"
    assert states["globex-doc0"].marker == ""
    remarked = doc[0].payload | {"source_marker": "9:9"}
    filled.upsert(COLLECTION, [PointRecord(doc[0].id, doc[0].dense, doc[0].sparse, remarked)])
    state = filled.doc_states(COLLECTION)["globex-doc1"]
    assert state.marker == MIXED_VERSIONS and state.content_hash == "hash-globex-doc1-v1"


def test_doc_states(filled: VectorStore) -> None:
    states = filled.doc_states(COLLECTION)
    assert sorted(states) == sorted(f"{t}-doc{d}" for t in TENANTS for d in range(DOCS_PER_TENANT))
    state = states["globex-doc0"]
    assert state.doc_id == "globex-doc0"
    assert state.source == "file:///corpus/globex-doc0.txt"
    assert state.content_hash == "hash-globex-doc0-v1"
    assert state.points == CHUNKS_PER_DOC
    assert sorted(filled.doc_states(COLLECTION, tenant="acme")) == [
        f"acme-doc{d}" for d in range(DOCS_PER_TENANT)
    ]
    assert filled.doc_states(COLLECTION, tenant="nobody") == {}


@pytest.mark.parametrize("kind", ["edge", "client-memory"])
def test_doc_states_pages_through_many_points(store: VectorStore) -> None:
    """More points than one scroll page of either backend (client-path scrolls the same way as
    client-memory, but its local mode commits each point to sqlite: too slow for 5000)."""
    rng = np.random.default_rng(3)
    points = [
        PointRecord(
            f"10000000-0000-4000-8000-{i:012d}",
            _unit(rng.normal(size=DIM)),
            SparseVector([i % 50], [1.0]),
            {"doc_id": f"d{i % 700}", "source": f"s{i % 700}", "content_hash": "h", "tenant": "t"},
        )
        for i in range(5000)
    ]
    store.ensure_collection(COLLECTION, DIM)
    for start in range(0, len(points), 1000):
        store.upsert(COLLECTION, points[start : start + 1000])
    states = store.doc_states(COLLECTION, tenant="t")
    assert len(states) == 700
    assert sum(s.points for s in states.values()) == 5000
    assert states["d0"].points == 8 and states["d699"].points == 7


# -- search --------------------------------------------------------------------------------


def test_dense_sparse_and_hybrid_find_the_expected_point(filled: VectorStore) -> None:
    target = CORPUS[5]
    dense = filled.search(COLLECTION, SearchRequest(dense=_near(target), limit=3))
    sparse = filled.search(COLLECTION, SearchRequest(sparse=_rare(target), limit=3))
    hybrid = filled.search(
        COLLECTION, SearchRequest(dense=_near(target), sparse=_rare(target), limit=3)
    )
    dbsf = filled.search(
        COLLECTION,
        SearchRequest(
            dense=_near(target),
            sparse=_rare(target),
            limit=3,
            fusion=FusionConfig(method="dbsf"),
        ),
    )
    for hits in (dense, sparse, hybrid, dbsf):
        assert hits[0].id == target.id
        assert hits[0].payload["doc_id"] == target.payload["doc_id"]
        assert hits[0].payload["chunk_index"] == target.payload["chunk_index"]
    assert dense[0].score > 0.95  # cosine of a query ~0.99 away
    assert len(sparse) == 1  # only the target has its rare term
    assert dense[0].score > dense[1].score


def test_points_are_searchable_right_after_upsert_and_after_optimize(
    filled: VectorStore,
) -> None:
    fresh = PointRecord(
        "20000000-0000-4000-8000-000000000001",
        _unit(np.random.default_rng(11).normal(size=DIM)),
        SparseVector([5000], [1.0]),
        {"doc_id": "fresh", "tenant": "acme", "content_hash": "h", "source": "s"},
    )
    for _ in range(2):
        filled.upsert(COLLECTION, [fresh])
        assert filled.search(COLLECTION, SearchRequest(dense=_near(fresh), limit=1))[0].id == (
            fresh.id
        )
        assert _ids(filled.search(COLLECTION, SearchRequest(sparse=_rare(fresh)))) == [fresh.id]
        filled.optimize(COLLECTION)
        filled.delete_doc(COLLECTION, "fresh")
        assert filled.search(COLLECTION, SearchRequest(sparse=_rare(fresh))) == []


@pytest.mark.parametrize("mode", ["dense", "sparse", "hybrid"])
def test_tenant_filter_never_returns_another_tenants_points(filled: VectorStore, mode: str) -> None:
    globex_point = next(p for p in CORPUS if p.payload["tenant"] == "globex")
    vectors = {
        "dense": {"dense": _near(globex_point)},
        "sparse": {"sparse": SparseVector([COMMON_TERM, _rare_term(12)], [1.0, 1.0])},
        "hybrid": {"dense": _near(globex_point), "sparse": _rare(globex_point)},
    }[mode]
    unfiltered = filled.search(COLLECTION, SearchRequest(limit=100, **vectors))
    assert {h.payload["tenant"] for h in unfiltered} == set(TENANTS)

    hits = filled.search(COLLECTION, SearchRequest(tenant="acme", limit=100, **vectors))
    assert hits, "the acme tenant has matching points"
    assert {h.payload["tenant"] for h in hits} == {"acme"}
    assert globex_point.id not in _ids(hits)
    assert filled.search(COLLECTION, SearchRequest(tenant="nobody", **vectors)) == []


def test_doc_ids_filter(filled: VectorStore) -> None:
    target = CORPUS[0]  # acme-doc0
    wanted = ["acme-doc1", "acme-doc2"]
    for vectors in ({"dense": _near(target)}, {"dense": _near(target), "sparse": _rare(target)}):
        hits = filled.search(COLLECTION, SearchRequest(doc_ids=wanted, limit=100, **vectors))
        assert {h.payload["doc_id"] for h in hits} == set(wanted)
        assert len(hits) == 2 * CHUNKS_PER_DOC
    hits = filled.search(COLLECTION, SearchRequest(dense=_near(target), doc_ids=[]))
    assert hits == []


@pytest.mark.parametrize("method", ["rrf", "linear"])
def test_fusion_weights_steer_the_hybrid_ranking(filled: VectorStore, method: str) -> None:
    """Dense points at P, sparse at Q. A zero weight removes that side's contribution:
    the hybrid ranking then equals the other side's own ranking."""
    p, q = CORPUS[0], CORPUS[6]
    dense, sparse = _near(p), SparseVector([COMMON_TERM, _rare_term(6)], [1.0, 1.0])
    tenant = "acme"

    def hybrid(dense_weight: float, sparse_weight: float) -> list[str]:
        fusion = FusionConfig(method, dense_weight=dense_weight, sparse_weight=sparse_weight)
        request = SearchRequest(dense, sparse, tenant=tenant, limit=12, fusion=fusion)
        return _ids(filled.search(COLLECTION, request))

    dense_only = _ids(filled.search(COLLECTION, SearchRequest(dense, tenant=tenant, limit=12)))
    sparse_only = _ids(
        filled.search(COLLECTION, SearchRequest(sparse=sparse, tenant=tenant, limit=12))
    )
    assert dense_only[0] == p.id and sparse_only[0] == q.id
    assert hybrid(1.0, 0.0) == dense_only
    assert hybrid(0.0, 1.0) == sparse_only
    assert hybrid(1.0, 1.0) not in (dense_only, sparse_only)  # so the two above are no accident


def test_linear_fusion_scores_are_the_weighted_sum_of_both_sides(filled: VectorStore) -> None:
    target = CORPUS[6]
    dense, sparse = _near(target), SparseVector([COMMON_TERM, _rare_term(6)], [1.0, 1.0])
    cosine = {h.id: h.score for h in filled.search(COLLECTION, SearchRequest(dense, limit=100))}
    bm25 = {
        h.id: h.score for h in filled.search(COLLECTION, SearchRequest(sparse=sparse, limit=100))
    }
    fusion = FusionConfig("linear", dense_weight=2.5, sparse_weight=0.5)
    hits = filled.search(COLLECTION, SearchRequest(dense, sparse, limit=5, fusion=fusion))
    assert hits[0].id == target.id
    for hit in hits:
        expected = 2.5 * cosine.get(hit.id, 0.0) + 0.5 * bm25.get(hit.id, 0.0)
        assert hit.score == pytest.approx(expected, rel=1e-4)


def test_invalid_requests_are_refused(filled: VectorStore) -> None:
    with pytest.raises(ValueError, match="dense vector, a sparse vector or both"):
        filled.search(COLLECTION, SearchRequest())
    both = {"dense": _near(CORPUS[0]), "sparse": _rare(CORPUS[0])}
    with pytest.raises(ValueError, match="DBSF"):
        fusion = FusionConfig(method="dbsf", dense_weight=2.0)
        filled.search(COLLECTION, SearchRequest(fusion=fusion, **both))
    with pytest.raises(ValueError, match="not both 0"):
        fusion = FusionConfig(dense_weight=0.0, sparse_weight=0.0)
        filled.search(COLLECTION, SearchRequest(fusion=fusion, **both))
    with pytest.raises(StoreError):
        filled.search(COLLECTION, SearchRequest(dense=[1.0, 0.0]))  # wrong dimension


# -- HNSW parameters -----------------------------------------------------------------------

ANN_POINTS, ANN_DIM, ANN_QUERIES, ANN_K = 3000, 32, 30, 10
# a deliberately poor graph (4 edges per node, 8 candidates while building), built from the
# first KB of vectors on: walking it with a small ef misses neighbours; exact search must not
POOR_GRAPH = HnswBuild(m=4, ef_construct=8, full_scan_threshold_kb=1, indexing_threshold_kb=1)


def _unit_rows(rng: np.random.Generator, rows: int) -> np.ndarray:
    x = rng.normal(size=(rows, ANN_DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module", params=["edge", "client-memory"])
def ann(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """(kind, store, queries, brute-force top-k ids): uniformly random unit vectors, HNSW's
    hardest case, indexed with POOR_GRAPH and optimized."""
    rng = np.random.default_rng(3)
    vectors, queries = _unit_rows(rng, ANN_POINTS), _unit_rows(rng, ANN_QUERIES)
    ids = [f"30000000-0000-4000-8000-{i:012d}" for i in range(ANN_POINTS)]
    points = [
        PointRecord(ids[i], vectors[i].tolist(), SparseVector([i], [1.0]), {"tenant": "t"})
        for i in range(ANN_POINTS)
    ]
    store = _open(request.param, tmp_path_factory.mktemp("ann"), hnsw_build=POOR_GRAPH)
    store.ensure_collection(COLLECTION, ANN_DIM)
    store.upsert(COLLECTION, points)
    store.optimize(COLLECTION)
    truth = [[ids[j] for j in row] for row in np.argsort(-(queries @ vectors.T), axis=1)[:, :ANN_K]]
    yield request.param, store, queries, truth
    store.close()


def _recall(store: VectorStore, queries: np.ndarray, truth, **request) -> float:
    found = 0
    for query, expected in zip(queries, truth, strict=True):
        hits = store.search(COLLECTION, SearchRequest(dense=query.tolist(), limit=ANN_K, **request))
        assert len(hits) == ANN_K
        found += len(set(_ids(hits)) & set(expected))
    return found / (ANN_K * len(queries))


def test_exact_search_equals_brute_force(ann) -> None:
    _, store, queries, truth = ann
    exact = HnswSearch(exact=True)
    for query, expected in zip(queries, truth, strict=True):
        dense = SearchRequest(dense=query.tolist(), limit=ANN_K, hnsw=exact)
        assert _ids(store.search(COLLECTION, dense)) == expected
        # hybrid: the dense prefetch takes the same parameters (sparse weight 0: dense order)
        fusion = FusionConfig("linear", dense_weight=1.0, sparse_weight=0.0, prefetch_limit=ANN_K)
        sparse = SparseVector([0], [1.0])
        hybrid = SearchRequest(query.tolist(), sparse, limit=ANN_K, fusion=fusion, hnsw=exact)
        assert _ids(store.search(COLLECTION, hybrid)) == expected


def test_search_ef_steers_the_graph_walk(ann) -> None:
    """On Edge's poor graph a small ef misses neighbours and a larger one finds more, in dense
    queries and in the hybrid dense prefetch alike; client local mode has no graph: it scans,
    so every ef is exact there."""
    kind, store, queries, truth = ann
    narrow = _recall(store, queries, truth, hnsw=HnswSearch(ef=ANN_K))
    wide = _recall(store, queries, truth, hnsw=HnswSearch(ef=400))
    default = _recall(store, queries, truth)  # the store's own: ef = ef_construct (8) -> 10
    if kind == "client-memory":
        assert narrow == wide == default == 1.0
        return
    assert narrow < 0.6 and wide > narrow + 0.2
    assert default == narrow
    fusion = FusionConfig("linear", dense_weight=1.0, sparse_weight=0.0, prefetch_limit=ANN_K)
    hybrid = _recall(
        store, queries, truth, sparse=SparseVector([0], [1.0]), fusion=fusion,
        hnsw=HnswSearch(ef=ANN_K),
    )  # fmt: skip
    assert hybrid == narrow


def test_store_search_defaults_come_from_the_store(ann, tmp_path: Path) -> None:
    """A store opened with exact search answers exactly when requests bring no HNSW params."""
    kind, store, queries, truth = ann
    if kind != "edge":
        pytest.skip("client local mode is always exact")
    root = store.root
    store.close()  # one process, one open shard
    exact_store = EdgeStore(root, hnsw_search=HnswSearch(exact=True))
    try:
        assert _recall(exact_store, queries, truth) == 1.0
    finally:
        exact_store.close()


def test_hnsw_build_reaches_the_edge_shard_config(tmp_path: Path) -> None:
    build = HnswBuild(m=6, ef_construct=40, full_scan_threshold_kb=77, payload_m=12)
    with EdgeStore(tmp_path, hnsw_build=build) as store:
        store.ensure_collection(COLLECTION, DIM)
    config = json.loads((tmp_path / COLLECTION / EDGE_CONFIG_FILE).read_text("utf-8"))
    assert config["hnsw_config"] | {"max_indexing_threads": 0} == {
        "m": 6, "ef_construct": 40, "full_scan_threshold": 77, "payload_m": 12,
        "max_indexing_threads": 0,
    }  # fmt: skip
    # an existing shard keeps the graph it was built with
    with EdgeStore(tmp_path, hnsw_build=HnswBuild(m=32)) as store:
        store.ensure_collection(COLLECTION, DIM)
    again = json.loads((tmp_path / COLLECTION / EDGE_CONFIG_FILE).read_text("utf-8"))
    assert again["hnsw_config"]["m"] == 6


# -- snapshots -----------------------------------------------------------------------------


def test_snapshot_writes_an_archive_that_restores(
    filled: VectorStore, kind: str, tmp_path: Path
) -> None:
    archive = filled.snapshot(COLLECTION, tmp_path / "snapshots")
    assert archive.is_file() and archive.parent == tmp_path / "snapshots"
    assert archive.name.startswith(f"{COLLECTION}-") and archive.name.endswith(".tar.gz")
    assert archive.stat().st_size > 0

    restored = tmp_path / "restored"
    if kind == "edge":
        with tarfile.open(archive) as tar:
            tar.extractall(restored / COLLECTION, filter="data")
        reopened: VectorStore = EdgeStore(restored)
    else:
        with tarfile.open(archive) as tar:
            tar.extractall(restored, filter="data")
        reopened = QdrantClientStore(path=restored)
    try:
        assert reopened.count(COLLECTION) == len(CORPUS)
        hits = reopened.search(
            COLLECTION, SearchRequest(dense=_near(CORPUS[3]), sparse=_rare(CORPUS[3]), limit=1)
        )
        assert hits[0].id == CORPUS[3].id
        assert reopened.doc_states(COLLECTION) == filled.doc_states(COLLECTION)
    finally:
        reopened.close()


# -- Qdrant Edge only ----------------------------------------------------------------------

_HOLDER = """
import sys
from pathlib import Path
from ruai.store.edge import EdgeStore

store = EdgeStore(Path(sys.argv[1]))
store.ensure_collection("docs", 8)
print("ready", flush=True)
sys.stdin.read()
store.close()
print("closed", flush=True)
"""


def _start_holder(root: Path) -> subprocess.Popen:
    env = os.environ | {"PYTHONPATH": str(REPO)}
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(root)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO, env=env,
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "ready"
    return holder


def test_edge_shard_is_locked_against_a_second_process(tmp_path: Path) -> None:
    holder = _start_holder(tmp_path)
    try:
        store = EdgeStore(tmp_path)
        assert store.collection_exists("docs")
        with pytest.raises(ShardLockedError) as refused:
            store.count("docs")
        message = str(refused.value)
        assert str(tmp_path / "docs") in message
        assert f"another process (pid {holder.pid})" in message
        assert "store owner actor" in message
        with pytest.raises(ShardLockedError):
            store.ensure_collection("docs", 8)

        holder.stdin.close()  # the holder closes its store and exits
        assert holder.stdout.readline().strip() == "closed"
        assert holder.wait(timeout=30) == 0
        assert store.count("docs") == 0
        store.close()
    finally:
        holder.kill()
        holder.wait()


def test_edge_shard_lock_dies_with_its_process(tmp_path: Path) -> None:
    holder = _start_holder(tmp_path)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    with EdgeStore(tmp_path) as store:
        store.ensure_collection("docs", 8)
        assert store.count("docs") == 0


def test_edge_shard_is_locked_against_a_second_store_in_one_process(tmp_path: Path) -> None:
    with EdgeStore(tmp_path) as first:
        first.ensure_collection(COLLECTION, DIM)
        second = EdgeStore(tmp_path)
        with pytest.raises(ShardLockedError, match="another EdgeStore in this process"):
            second.count(COLLECTION)
    with EdgeStore(tmp_path) as again:  # released by close()
        assert again.count(COLLECTION) == 0


def test_edge_data_survives_close_and_reopen(tmp_path: Path) -> None:
    with EdgeStore(tmp_path) as store:
        store.ensure_collection(COLLECTION, DIM)
        store.upsert(COLLECTION, CORPUS)
    with EdgeStore(tmp_path) as store:
        assert store.count(COLLECTION) == len(CORPUS)
        hits = store.search(COLLECTION, SearchRequest(dense=_near(CORPUS[9]), limit=1))
        assert hits[0].id == CORPUS[9].id


def test_edge_refuses_a_collection_name_that_is_not_a_directory_name(tmp_path: Path) -> None:
    with EdgeStore(tmp_path) as store, pytest.raises(ValueError, match="collection name"):
        store.ensure_collection("../outside", DIM)


# -- qdrant-client only --------------------------------------------------------------------


@pytest.mark.parametrize("prefer_grpc", [False, True])
def test_unreachable_server_names_the_url_and_the_settings(prefer_grpc: bool) -> None:
    url = "http://127.0.0.1:1"
    with pytest.raises(StoreError) as refused:
        QdrantClientStore(url=url, prefer_grpc=prefer_grpc, timeout=2)
    message = str(refused.value)
    assert url in message
    assert "RUAI_QDRANT_URL" in message and "RUAI_QDRANT_API_KEY" in message


def test_local_storage_is_refused_to_a_second_client(tmp_path: Path) -> None:
    with QdrantClientStore(path=tmp_path), pytest.raises(StoreError, match=str(tmp_path)):
        QdrantClientStore(path=tmp_path)


def test_client_store_needs_exactly_one_location(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        QdrantClientStore()
    with pytest.raises(ValueError, match="exactly one"):
        QdrantClientStore(url="http://127.0.0.1:1", path=tmp_path)


# -- open_store ----------------------------------------------------------------------------


@pytest.fixture
def no_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    profile = tmp_path / "empty-profile.yaml"
    profile.write_text("{}\n", encoding="utf-8")
    monkeypatch.setenv("RUAI_PROFILE_FILE", str(profile))


@pytest.mark.usefixtures("no_profile")
def test_open_store_follows_the_settings(tmp_path: Path) -> None:
    edge = open_store(Settings(store_backend="edge", qdrant_path=tmp_path / "e", qdrant_url=None))
    assert isinstance(edge, EdgeStore) and edge.root == tmp_path / "e"
    edge.close()

    local = open_store(
        Settings(store_backend="client", qdrant_path=tmp_path / "c", qdrant_url=None)
    )
    assert isinstance(local, QdrantClientStore) and local.local
    local.ensure_collection(COLLECTION, DIM)
    local.close()
    assert (tmp_path / "c").is_dir()

    server = Settings(
        store_backend="client", qdrant_url="http://127.0.0.1:1", qdrant_prefer_grpc=False
    )
    with pytest.raises(StoreError, match="RUAI_QDRANT_URL"):
        open_store(server)


@pytest.mark.usefixtures("no_profile")
def test_open_store_passes_the_hnsw_settings(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RUAI_HNSW_EF_CONSTRUCT", "48")
    monkeypatch.setenv("RUAI_SEARCH_EXACT", "true")
    settings = Settings(
        qdrant_path=tmp_path, qdrant_url=None, hnsw_m=6, hnsw_indexing_threshold_kb=1
    )
    build = HnswBuild(m=6, ef_construct=48, indexing_threshold_kb=1)
    for backend in ("edge", "client"):
        with open_store(settings.model_copy(update={"store_backend": backend})) as store:
            assert store.hnsw_build == build
            assert store.hnsw_search == HnswSearch(exact=True)
    with pytest.raises(ValueError, match="search_hnsw_ef"):
        Settings(search_hnsw_ef=0)
