"""Document and chunk rows (Arrow) <-> store points: the one place that knows the columns
ingestion hands to a store and how they become Qdrant points (no Ray). Each point's payload comes
from ``ruai.ingest.payload.chunk_payload``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ruai.encoders.base import SparseVector
from ruai.ingest.payload import chunk_payload, encode_payload
from ruai.store.base import PointRecord

if TYPE_CHECKING:
    from ruai.ingest.processing import ProcessedDocument

# the columns a chunk row must carry to become a point; ``dense`` is a fixed-size list column
CHUNK_COLUMNS = ("chunk_id", "payload", "sparse_indices", "sparse_values", "dense")


def points_from_table(table: pa.Table) -> list[PointRecord]:
    """Chunk rows (with their ``dense`` column) as store points."""
    missing = [name for name in CHUNK_COLUMNS if name not in table.column_names]
    if missing:
        raise ValueError(f"chunk rows lack the columns {missing}")
    dim = table.schema.field("dense").type.list_size
    dense = table.column("dense").combine_chunks().flatten().to_numpy().reshape(-1, dim)
    return [
        PointRecord(
            id=chunk_id,
            dense=vector,
            sparse=SparseVector(indices, values),
            payload=json.loads(payload),
        )
        for chunk_id, vector, indices, values, payload in zip(
            _strings(table.column("chunk_id")),
            np.asarray(dense, dtype=np.float32).tolist(),
            _lists(table.column("sparse_indices")),
            _lists(table.column("sparse_values")),
            _strings(table.column("payload")),
            strict=True,
        )
    ]


def _strings(column: pa.ChunkedArray) -> list[str]:
    return column.to_numpy(zero_copy_only=False).tolist()  # faster than to_pylist's scalars


def _lists(column: pa.ChunkedArray) -> list[list]:
    """A list column as Python lists: one conversion of the flat values, then a slice per row
    (a tenth of ``to_pylist``'s cost per row)."""
    array = column.combine_chunks()
    offsets = array.offsets.to_numpy()
    flat = array.flatten().to_numpy().tolist()
    bounds = (offsets - offsets[0]).tolist()
    return [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


# One row per document, the shape ingestion's stages exchange: the document's outcome is a column
# (ok | unchanged | access | removed | failed, with a reason; ``access``: only who may read it
# changed, its points' payload is rewritten with the row's ``access`` labels) and its chunks are
# list columns, so a document without chunks (unchanged, failed, empty) is one row like any other.
# ``stored_before``: the store held a version of this doc_id when the run started, so writing this
# one must delete the old.
# The embedding step adds ``dense``: a list of fixed-size vectors, one per chunk.
DOC_ROW_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("parent_source", pa.string()),  # an attachment's: the mail's source; else ""
        ("doc_id", pa.string()),
        ("content_hash", pa.string()),
        ("outcome", pa.string()),
        ("reason", pa.string()),
        ("stored_before", pa.bool_()),
        ("ocr_pages", pa.int32()),  # pages of the document read by OCR
        ("chunk_ids", pa.list_(pa.string())),
        ("texts", pa.list_(pa.string())),
        ("payloads", pa.list_(pa.string())),
        ("sparse_indices", pa.list_(pa.list_(pa.int64()))),
        ("sparse_values", pa.list_(pa.list_(pa.float32()))),
        ("access", pa.list_(pa.string())),
    ]
)
# what the final stage hands back to the driver: the outcome columns and the points written
OUTCOME_COLUMNS = (
    "source",
    "parent_source",
    "doc_id",
    "content_hash",
    "outcome",
    "reason",
    "ocr_pages",
)


def doc_row(
    processed: ProcessedDocument, tenant: str, marker: str, stored: bool, access: list[str]
) -> dict:
    """One document's row (``DOC_ROW_SCHEMA``) as a dict."""
    chunks = processed.chunks
    outcome = processed.status
    if outcome == "empty":
        # no text any more: a stored version is out of date and goes (the write step deletes it)
        outcome = "removed" if stored else "failed"
    return {
        "source": processed.source,
        "parent_source": processed.parent_source,
        "doc_id": processed.doc_id,
        "content_hash": processed.content_hash,
        "outcome": outcome,
        "reason": processed.reason,
        "stored_before": stored,
        "ocr_pages": processed.document.meta.get("ocr_pages", 0) if processed.document else 0,
        "chunk_ids": [c.chunk_id for c in chunks],
        "texts": [c.text for c in chunks],
        "payloads": [
            encode_payload(chunk_payload(processed, c, tenant, marker, access)) for c in chunks
        ],
        "sparse_indices": [s.indices for s in processed.sparse],
        "sparse_values": [s.values for s in processed.sparse],
        "access": access,
    }


def chunk_texts(table: pa.Table) -> list[str]:
    """The texts of document rows' chunks, flattened: what the embedding step encodes."""
    return _strings(pc.list_flatten(table.column("texts")))


def with_dense(table: pa.Table, dense: np.ndarray) -> pa.Table:
    """Document rows plus their ``dense`` column: ``dense`` holds one vector per chunk, in the
    order of the flattened ``texts``."""
    dim = dense.shape[1]
    lengths = pc.list_value_length(table.column("texts")).fill_null(0)
    offsets = np.concatenate([[0], np.cumsum(lengths.to_numpy(), dtype=np.int32)])
    vectors = pa.FixedSizeListArray.from_arrays(
        pa.array(np.asarray(dense, dtype=np.float32).ravel()), dim
    )
    return table.append_column("dense", pa.ListArray.from_arrays(pa.array(offsets), vectors))


def chunk_rows(table: pa.Table) -> pa.Table:
    """Document rows (with ``dense``) flattened into the chunk rows ``points_from_table`` reads."""
    flat = {
        name: pc.list_flatten(table.column(name))
        for name in ("chunk_ids", "payloads", "sparse_indices", "sparse_values", "dense")
    }
    flat["chunk_id"] = flat.pop("chunk_ids")
    flat["payload"] = flat.pop("payloads")
    return pa.table({name: flat[name] for name in CHUNK_COLUMNS})
