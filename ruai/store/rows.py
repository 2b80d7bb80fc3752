"""Document and chunk rows (Arrow) <-> store points, and the payload each point carries: the one
place that knows the columns ingestion hands to a store and how they become Qdrant points (no
Ray)."""

from __future__ import annotations

import json
from typing import Any, NotRequired, TypedDict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ruai.encoders.base import SparseVector
from ruai.store.base import PointRecord


class ChunkPayload(TypedDict):
    """The payload of one point (DESIGN.md's schema); ``tenant``, ``doc_id`` and ``source`` are
    indexed (ruai.store.base.INDEXED_FIELDS)."""

    text: str
    source: str
    title: str
    doc_id: str
    chunk_index: int
    # how many chunks the document has: a doc_state with fewer points is incomplete (a write
    # cut off part-way) and gets re-ingested; points written before this field lack it
    chunk_count: int
    char_start: int
    char_end: int
    content_hash: str
    tenant: str
    entities: list[Any]
    format: str
    language: str
    # the object store's change marker of the source ("size:mtime"; "" for local files): a
    # re-run skips the object at listing time when it is unchanged (DocState.marker)
    source_marker: str
    # where the chunk lies (ruai.documents.Place), in the formats that have one: a PDF's or a
    # scan's page (1-based), a DOCX page after explicit page breaks, a slide, a sheet
    page: NotRequired[int]
    slide: NotRequired[int]
    sheet: NotRequired[str]
    # an e-mail attachment's document: its name in the mail, and the mail's source (ingestion
    # replaces and prunes it with the mail)
    attachment: NotRequired[str]
    parent_source: NotRequired[str]
    # who may read it: access labels (ruai/identity/access.py); empty: the whole tenant
    access: list[str]


# the columns a chunk row must carry to become a point; ``dense`` is a fixed-size list column
CHUNK_COLUMNS = ("chunk_id", "payload", "sparse_indices", "sparse_values", "dense")


def encode_payload(payload: ChunkPayload) -> str:
    """A payload as it travels in a row's ``payload`` column (JSON: Arrow needs no schema for
    the open-ended ``entities``)."""
    return json.dumps(payload, ensure_ascii=False)


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
            dense=vector.tolist(),
            sparse=SparseVector(list(indices), list(values)),
            payload=json.loads(payload),
        )
        for chunk_id, vector, indices, values, payload in zip(
            table.column("chunk_id").to_pylist(),
            np.asarray(dense, dtype=np.float32),
            table.column("sparse_indices").to_pylist(),
            table.column("sparse_values").to_pylist(),
            table.column("payload").to_pylist(),
            strict=True,
        )
    ]


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
