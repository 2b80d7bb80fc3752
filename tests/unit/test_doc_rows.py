"""Document rows (one per file, its outcome a column, its chunks list columns) → chunk rows →
points: what ingestion's final stage writes, and what the in-process index writes through them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from ruai.encoders.factory import build_dense_encoder
from ruai.ingest.documents import chunk_id_for, doc_id_for
from ruai.ingest.inline_index import index_files
from ruai.ingest.payload import encode_payload
from ruai.ingest.rows import DOC_ROW_SCHEMA, chunk_rows, points_from_table, with_dense
from ruai.settings import Settings
from ruai.store.edge import EdgeStore


def _doc(name: str, outcome: str, texts: list[str]) -> dict:
    return {
        "source": f"{name}.md", "doc_id": name, "content_hash": f"h-{name}", "outcome": outcome,
        "reason": "" if outcome == "ok" else "empty document", "stored_before": False,
        "chunk_ids": [f"00000000-0000-4000-8000-{name}{i:011d}" for i in range(len(texts))],
        "texts": texts,
        "payloads": [encode_payload({"text": t, "doc_id": name}) for t in texts],  # type: ignore[typeddict-item]
        "sparse_indices": [[i, 7] for i in range(len(texts))],
        "sparse_values": [[1.0, 0.5] for _ in texts],
    }  # fmt: skip


def test_documents_without_chunks_are_rows_too_and_write_nothing() -> None:
    table = pa.Table.from_pylist(
        [_doc("a", "ok", ["раз", "два"]), _doc("b", "failed", []), _doc("c", "ok", ["три"])],
        schema=DOC_ROW_SCHEMA,
    )
    dense = np.arange(3 * 4, dtype=np.float32).reshape(3, 4)
    embedded = with_dense(table, dense)
    assert embedded.column("outcome").to_pylist() == ["ok", "failed", "ok"]
    assert [len(v) for v in embedded.column("dense").to_pylist()] == [2, 0, 1]

    points = points_from_table(chunk_rows(embedded))
    assert [p.payload["text"] for p in points] == ["раз", "два", "три"]
    assert [p.payload["doc_id"] for p in points] == ["a", "a", "c"]
    assert [p.dense for p in points] == dense.tolist()
    assert points[1].sparse.indices == [1, 7] and points[2].sparse.values == [1.0, 0.5]


def test_a_sliced_batch_keeps_each_documents_vectors() -> None:
    """Ray Data hands a stage slices of a block: offsets then do not start at zero."""
    rows = [_doc(f"d{i}", "ok", [f"текст {i}.{j}" for j in range(i % 3)]) for i in range(6)]
    table = pa.Table.from_pylist(rows, schema=DOC_ROW_SCHEMA).slice(2, 3)  # d2, d3, d4
    dense = np.eye(3, 5, dtype=np.float32)  # 2 + 0 + 1 chunks
    points = points_from_table(chunk_rows(with_dense(table, dense)))
    assert [p.payload["text"] for p in points] == ["текст 2.0", "текст 2.1", "текст 4.0"]
    assert [p.dense for p in points] == dense.tolist()


def test_the_inline_index_writes_the_payload_the_pipeline_writes(tmp_path: Path) -> None:
    """``index_files`` builds its points through the same rows: same ids, same payload schema."""
    settings = Settings(
        qdrant_path=tmp_path / "qdrant", collection="docs", dense_model="navec",
        extract_entities=False,
    )  # fmt: skip
    (tmp_path / "a.md").write_text("# Заголовок\n\nПервый абзац о реках России.\n", "utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    files = [tmp_path / "a.md", tmp_path / "empty.txt"]
    with EdgeStore(settings.qdrant_path) as store:
        written = index_files(settings, files, store, build_dense_encoder(settings))
        doc_id = doc_id_for(str(tmp_path / "a.md"), settings.tenant)
        ids = [chunk_id_for(doc_id, i) for i in range(written)]
        points = store.retrieve(settings.collection, ids)
    assert written >= 1 and sorted(p.id for p in points) == sorted(ids)
    assert {p.payload["chunk_count"] for p in points} == {written}
    assert {(p.payload["doc_id"], p.payload["format"]) for p in points} == {(doc_id, "markdown")}
    assert all(p.payload["access"] == [] and p.sparse.indices for p in points)
