"""LocalStore: the VectorStore opened in this process, its protocol forwarded method by method
(raystore/forwarding.py), plus ``upsert_rows`` (ingestion's Arrow chunk rows). The embedded
shard's owner actor is one (raystore/owner.py); DirectStore adds the async twins Serve awaits."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from raystore.forwarding import forwards_store
from ruai.ingest.rows import points_from_table
from ruai.settings import Settings
from ruai.store.factory import open_store


def _in_process(store: LocalStore, name: str, args: tuple, kwargs: dict) -> Any:
    return getattr(store._store, name)(*args, **kwargs)


@forwards_store(_in_process)
class LocalStore:
    def __init__(self, settings: Settings) -> None:
        self._store = open_store(settings)

    # --- beyond the protocol --------------------------------------------------------------

    def upsert_rows(self, collection: str, table: pa.Table) -> int:
        """Ingestion's chunk rows (``ruai.ingest.rows.CHUNK_COLUMNS``) as points."""
        return self._store.upsert(collection, points_from_table(table))
