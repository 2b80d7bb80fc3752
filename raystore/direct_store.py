"""DirectStore: the store opened in this process (a Qdrant server every process may reach, or
any store when Ray is not running), with the async twins OwnedStore has."""

from __future__ import annotations

import asyncio

from raystore.local_store import LocalStore
from ruai.store.base import CollectionVersion, Hit, SearchRequest


class DirectStore(LocalStore):
    # the blocking client call runs in a worker thread
    async def search_async(self, collection: str, request: SearchRequest) -> list[Hit]:
        return await asyncio.to_thread(self.search, collection, request)

    async def count_async(self, collection: str, tenant: str | None = None) -> int:
        return await asyncio.to_thread(self.count, collection, tenant)

    async def readable_docs_async(
        self, collection: str, tenant: str, doc_ids: list[str], access: frozenset[str] | None
    ) -> list[str]:
        return await asyncio.to_thread(self.readable_docs, collection, tenant, doc_ids, access)

    async def collection_exists_async(self, collection: str) -> bool:
        return await asyncio.to_thread(self.collection_exists, collection)

    async def version_of_async(self, collection: str) -> CollectionVersion:
        return await asyncio.to_thread(self.version_of, collection)
