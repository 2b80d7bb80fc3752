"""Document rows (one per file, its outcome a column, its chunks list columns) → chunk rows →
points: what ingestion's final stage writes."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ruai.store.rows import (
    DOC_ROW_SCHEMA,
    chunk_rows,
    encode_payload,
    points_from_table,
    with_dense,
)


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
