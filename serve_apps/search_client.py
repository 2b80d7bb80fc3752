"""How the ingress reaches search: the ``Search`` deployment through its handle (one process hop;
the GPU profile, where encoding batches on the encoder's GPU fraction), or a ``SearchService``
in the ingress's own process (``search_in_ingress``: the local profile, where the navec encoder
costs ~0.3 ms and the hop ~4 ms). Both answer the same awaited calls."""

from __future__ import annotations

from ray.serve.handle import DeploymentHandle

from ruai.settings import Settings
from ruai.store.base import Hit
from serve_apps.search import SearchService


class HandleSearch:
    """The ``Search`` deployment, called through its handle."""

    def __init__(self, handle: DeploymentHandle) -> None:
        self.handle = handle

    async def search(
        self,
        collection: str,
        tenant: str,
        query: str,
        top_k: int,
        mode: str = "hybrid",
        dense_weight: float | None = None,
        access: frozenset[str] | None = None,
    ) -> list[Hit]:
        return await self.handle.search.remote(collection, tenant, query, top_k, mode,
                                               dense_weight, access)  # fmt: skip

    async def document(
        self,
        collection: str,
        tenant: str,
        doc_id: str,
        query: str,
        limit: int,
        access: frozenset[str] | None = None,
    ) -> list[Hit]:
        return await self.handle.document.remote(collection, tenant, doc_id, query, limit, access)

    async def readable(
        self, collection: str, tenant: str, doc_ids: list[str], access: frozenset[str] | None
    ) -> list[str]:
        return await self.handle.readable.remote(collection, tenant, doc_ids, access)

    async def check(self, collection: str) -> bool:
        return await self.handle.check.remote(collection)

    async def embed(self, texts: list[str]) -> tuple[list[list[float]], int]:
        return await self.handle.embed.remote(texts)

    async def dense_model(self) -> str:
        return await self.handle.dense_model.remote()


# both answer the same awaited calls: search, document, readable, check, embed, dense_model
SearchClient = SearchService | HandleSearch


def search_client(search: DeploymentHandle | None, settings: Settings) -> SearchClient:
    """The handle's deployment, or (no handle: ``search_in_ingress``) search in this process."""
    return SearchService(settings) if search is None else HandleSearch(search)
