"""Vector stores: one VectorStore protocol, two real Qdrant backends (Edge, qdrant-client).

``open_store(settings)`` picks the backend; the backends import their engine only when opened.
"""

from ruai.store.base import (
    DENSE,
    INDEXED_FIELDS,
    SPARSE,
    CollectionNotFoundError,
    DocState,
    FusionConfig,
    Hit,
    PointRecord,
    SearchRequest,
    StoreError,
    VectorStore,
)
from ruai.store.factory import open_store

__all__ = [
    "DENSE",
    "INDEXED_FIELDS",
    "SPARSE",
    "CollectionNotFoundError",
    "DocState",
    "FusionConfig",
    "Hit",
    "PointRecord",
    "SearchRequest",
    "StoreError",
    "VectorStore",
    "open_store",
]
