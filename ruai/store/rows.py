"""Chunk rows (Arrow) <-> store points, and the payload each point carries: the one place that
knows the columns ingestion hands to a store and how they become Qdrant points (no Ray)."""

from __future__ import annotations

import json
from typing import Any, TypedDict

import numpy as np
import pyarrow as pa

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
    char_start: int
    char_end: int
    content_hash: str
    tenant: str
    entities: list[Any]
    format: str
    language: str


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
