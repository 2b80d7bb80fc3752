"""The owner of an embedded store: a named, detached Ray actor holding the Qdrant Edge shard (or
qdrant-client's local-mode directory), so that ingestion jobs and Serve replicas share it without
two processes ever opening the same files. One remote method per VectorStore method."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import ray

from ruai.settings import Settings
from ruai.store.base import DocState, Hit, PointRecord, SearchRequest
from ruai.store.factory import open_store
from ruai.store.rows import points_from_table


@ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=-1)
class StoreOwner:
    def __init__(self, settings: Settings) -> None:
        self._store = open_store(settings)

    def ensure_collection(self, collection: str, dense_dim: int) -> None:
        self._store.ensure_collection(collection, dense_dim)

    def collection_exists(self, collection: str) -> bool:
        return self._store.collection_exists(collection)

    def drop_collection(self, collection: str) -> None:
        self._store.drop_collection(collection)

    def upsert(self, collection: str, points: list[PointRecord]) -> int:
        return self._store.upsert(collection, points)

    def upsert_rows(self, collection: str, table: pa.Table) -> int:
        """Ingestion's Arrow rows arrive as they are (cheap to serialize) and become points
        here: pickling thousands of per-point vectors costs more than the upsert."""
        return self._store.upsert(collection, points_from_table(table))

    def delete_doc(
        self, collection: str, doc_id: str, keep_content_hash: str | None = None
    ) -> None:
        self._store.delete_doc(collection, doc_id, keep_content_hash)

    def doc_states(self, collection: str, tenant: str | None = None) -> dict[str, DocState]:
        return self._store.doc_states(collection, tenant)

    def search(self, collection: str, request: SearchRequest) -> list[Hit]:
        return self._store.search(collection, request)

    def count(self, collection: str, tenant: str | None = None) -> int:
        return self._store.count(collection, tenant)

    def optimize(self, collection: str) -> None:
        self._store.optimize(collection)

    def snapshot(self, collection: str, target_dir: Path) -> Path:
        return self._store.snapshot(collection, target_dir)

    def close(self) -> None:
        self._store.close()
