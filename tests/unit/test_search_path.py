"""The one search path (ruai.retrieval) and chunk rows → points (ruai.ingest.rows), on real
encoders and a real Qdrant Edge shard."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from ruai.encoders.base import SparseVector
from ruai.ingest.payload import encode_payload
from ruai.ingest.rows import points_from_table
from ruai.retrieval import Query, QueryVectors, Searcher, search_request
from ruai.settings import Settings
from ruai.store.base import FusionConfig
from ruai.store.edge import EdgeStore

FUSION = FusionConfig()


@pytest.fixture(scope="module")
def searcher() -> Searcher:
    return Searcher.from_settings(Settings(), store=None)


def test_the_mode_keeps_the_vectors_it_searches_with(searcher: Searcher) -> None:
    (vectors,) = searcher.encode(["Когда умер Никола Тесла?"])
    assert vectors.dense and vectors.sparse.indices
    hybrid = search_request(vectors, "hybrid", "acme", 5, FUSION)
    dense = search_request(vectors, "dense", "acme", 5, FUSION)
    sparse = search_request(vectors, "sparse", "acme", 5, FUSION)
    assert hybrid.dense == dense.dense and hybrid.sparse == sparse.sparse
    assert dense.sparse is None and sparse.dense is None
    assert (hybrid.tenant, hybrid.limit) == ("acme", 5)
    with pytest.raises(ValueError, match="tenant"):
        search_request(vectors, "hybrid", "", 5, FUSION)
    with pytest.raises(ValueError, match="mode"):
        search_request(vectors, "fuzzy", "acme", 5, FUSION)  # type: ignore[arg-type]


def test_a_batch_encodes_only_what_its_modes_need(searcher: Searcher) -> None:
    assert all(v.dense is None for v in searcher.encode(["кошка", "собака"], {"sparse"}))
    assert all(v.sparse is None for v in searcher.encode(["кошка"], {"dense"}))
    requests = searcher.requests(
        [Query("кошка", "a", 3, "dense"), Query("собака", "b", 4, "sparse")]
    )
    assert requests[0].sparse is None and requests[1].dense is None
    assert [r.tenant for r in requests] == ["a", "b"] and [r.limit for r in requests] == [3, 4]


def test_chunk_rows_become_points_that_search_finds(searcher: Searcher, tmp_path) -> None:
    texts = ["Никола Тесла умер в 1943 году в Нью-Йорке.", "Кислород открыл Пристли."]
    dense = searcher.dense.encode_passages(texts)
    sparse = searcher.sparse.encode_passages(texts)
    payloads = [
        encode_payload({"text": t, "source": f"{i}.md", "tenant": "acme", "doc_id": f"d{i}",
                        "entities": [{"text": "Тесла", "type": "PER"}]})  # type: ignore[typeddict-item]
        for i, t in enumerate(texts)
    ]  # fmt: skip
    table = pa.table({
        "chunk_id": ["00000000-0000-0000-0000-000000000001",
                     "00000000-0000-0000-0000-000000000002"],
        "payload": payloads,
        "sparse_indices": [s.indices for s in sparse],
        "sparse_values": [s.values for s in sparse],
        "dense": pa.FixedSizeListArray.from_arrays(
            pa.array(np.asarray(dense, dtype=np.float32).ravel()), dense.shape[1]),
    })  # fmt: skip
    points = points_from_table(table)
    assert [p.payload["source"] for p in points] == ["0.md", "1.md"]
    assert points[0].payload["entities"] == [{"text": "Тесла", "type": "PER"}]
    store = EdgeStore(tmp_path / "shard")
    try:
        store.ensure_collection("c", dense.shape[1])
        assert store.upsert("c", points) == 2
        searcher.store = store
        hits = searcher.search("Когда умер Тесла?", collection="c", tenant="acme", top_k=1)
        assert hits[0].payload["source"] == "0.md"
    finally:
        store.close()
    with pytest.raises(ValueError, match="dense"):
        points_from_table(table.drop_columns(["dense"]))


def test_a_mode_needs_the_vectors_it_searches_with() -> None:
    only_sparse = QueryVectors(dense=None, sparse=SparseVector([1], [1.0]))
    assert search_request(only_sparse, "sparse", "t", 1, FUSION).sparse is not None
    for mode in ("dense", "hybrid"):
        with pytest.raises(ValueError, match="not encoded"):
            search_request(only_sparse, mode, "t", 1, FUSION)


def test_stress_marks_and_decomposed_letters_find_the_same_words(searcher: Searcher) -> None:
    import unicodedata

    plain = "Какой город столица России? Ёж и йод"
    stressed = "Како́й го́род столи́ца Росси́и? Ёж и йод"
    decomposed = unicodedata.normalize("NFD", plain)
    expected = searcher.encode([plain])[0]
    for query in (stressed, decomposed):
        (vectors,) = searcher.encode([query])
        assert vectors.sparse == expected.sparse
        assert np.allclose(vectors.dense, expected.dense)
