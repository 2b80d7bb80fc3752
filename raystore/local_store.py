"""LocalStore: the VectorStore opened in this process, method by method, plus ``upsert_rows``
(ingestion's Arrow chunk rows). The embedded shard's owner actor is one (raystore/owner.py);
DirectStore adds the async twins Serve awaits."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa

from ruai.settings import Settings
from ruai.store.aliases import CollectionVersion
from ruai.store.base import DocState, Hit, PointOffset, PointRecord, SearchRequest
from ruai.store.factory import open_store
from ruai.store.rows import points_from_table


class LocalStore:
    def __init__(self, settings: Settings) -> None:
        self._store = open_store(settings)

    # --- the VectorStore protocol ---------------------------------------------------------

    def ensure_collection(self, collection: str, dense_dim: int) -> None:
        self._store.ensure_collection(collection, dense_dim)

    def collection_exists(self, collection: str) -> bool:
        return self._store.collection_exists(collection)

    def drop_collection(self, collection: str) -> None:
        self._store.drop_collection(collection)

    def upsert(self, collection: str, points: list[PointRecord]) -> int:
        return self._store.upsert(collection, points)

    def delete_doc(
        self, collection: str, doc_id: str, keep_content_hash: str | None = None
    ) -> None:
        self._store.delete_doc(collection, doc_id, keep_content_hash)

    def delete_docs(self, collection: str, versions: Mapping[str, str | None]) -> None:
        self._store.delete_docs(collection, versions)

    def set_access(self, collection: str, access: Mapping[str, list[str]]) -> None:
        self._store.set_access(collection, access)

    def doc_states(self, collection: str, tenant: str | None = None) -> dict[str, DocState]:
        return self._store.doc_states(collection, tenant)

    def search(self, collection: str, request: SearchRequest) -> list[Hit]:
        return self._store.search(collection, request)

    def count(self, collection: str, tenant: str | None = None) -> int:
        return self._store.count(collection, tenant)

    def readable_docs(
        self, collection: str, tenant: str, doc_ids: list[str], access: frozenset[str] | None
    ) -> list[str]:
        return self._store.readable_docs(collection, tenant, doc_ids, access)

    def optimize(self, collection: str) -> None:
        self._store.optimize(collection)

    def snapshot(self, collection: str, target_dir: Path) -> Path:
        return self._store.snapshot(collection, target_dir)

    def close(self) -> None:
        self._store.close()

    # --- versions behind an alias (ruai/store/aliases.py) -----------------------------------

    def scroll_points(
        self, collection: str, offset: PointOffset = None, limit: int = 1024
    ) -> tuple[list[PointRecord], PointOffset]:
        return self._store.scroll_points(collection, offset, limit)

    def collection_names(self) -> list[str]:
        return self._store.collection_names()

    def version_of(self, collection: str) -> CollectionVersion:
        return self._store.version_of(collection)

    def versions_of(self, alias: str) -> list[CollectionVersion]:
        return self._store.versions_of(alias)

    def alias_targets(self) -> dict[str, str]:
        return self._store.alias_targets()

    def flip_alias(self, alias: str, version: str) -> str | None:
        return self._store.flip_alias(alias, version)

    def record_version(self, version: CollectionVersion) -> None:
        self._store.record_version(version)

    def adopt_collection(self, collection: str, version: CollectionVersion) -> None:
        self._store.adopt_collection(collection, version)

    # --- beyond the protocol --------------------------------------------------------------

    def upsert_rows(self, collection: str, table: pa.Table) -> int:
        """Ingestion's chunk rows (``ruai.store.rows.CHUNK_COLUMNS``) as points."""
        return self._store.upsert(collection, points_from_table(table))
