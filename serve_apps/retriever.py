"""Retriever: the tenant-filtered hybrid Qdrant query, through the store owner for Edge."""

from __future__ import annotations

import asyncio

from ray import serve

from pipelines.store_owner import StoreHandle, connect_store
from ruai.encoders.base import SparseVector
from ruai.retrieval import fusion_from
from ruai.settings import Settings
from ruai.store.base import CollectionNotFoundError, Hit, SearchRequest, VectorStore


@serve.deployment(max_ongoing_requests=64)
class Retriever:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.fusion = fusion_from(settings)
        self._store: VectorStore | None = None

    def _connected(self) -> VectorStore:
        # (re)connect lazily: a store that is down at start or dies later comes back on its own
        if self._store is None:
            self._store = connect_store(self.settings)
        return self._store

    async def _call(self, method: str, *args) -> object:
        try:
            store = self._connected()
            if isinstance(store, StoreHandle):
                return await store.acall(method, *args)
            return await asyncio.to_thread(getattr(store, method), *args)
        except CollectionNotFoundError:
            raise
        except Exception:
            # the store (or its owner actor) failed: reconnect on the next request
            self._store = None
            raise

    async def search(
        self,
        collection: str,
        tenant: str,
        dense: list[float] | None,
        sparse: SparseVector | None,
        top_k: int,
    ) -> list[Hit]:
        if not tenant:
            raise ValueError("every search is filtered to one tenant; none was given")
        request = SearchRequest(
            dense=dense, sparse=sparse, tenant=tenant, limit=top_k, fusion=self.fusion
        )
        return await self._call("search", collection, request)

    async def check(self, collection: str) -> bool:
        """True when the store serves the collection, False when it answers that it is absent;
        raises when the store is down (a count opens the shard, unlike an existence check)."""
        try:
            await self._call("count", collection)
        except CollectionNotFoundError:
            return False
        return True

    async def document(
        self, collection: str, tenant: str, doc_id: str, dense: list[float], limit: int
    ) -> list[Hit]:
        """The chunks (up to ``limit``) of one of the tenant's documents, in document order:
        a source card's "in context" view."""
        if not tenant:
            raise ValueError("every search is filtered to one tenant; none was given")
        request = SearchRequest(
            dense=dense, tenant=tenant, limit=limit, fusion=self.fusion, doc_ids=[doc_id]
        )
        hits = await self._call("search", collection, request)
        return sorted(hits, key=lambda hit: int(hit.payload.get("chunk_index", 0)))
