"""Search: query encoding and retrieval in one deployment. Concurrent requests are encoded in one
batch (dense + BM25), then each awaits its store call (the embedded shard's owner actor, or the
Qdrant server): a query vector never travels back to the ingress.

A collection name may be an alias (ruai/store/aliases.py): each request resolves it (cached for
``VERSION_TTL_S``), is encoded with the dense model recorded for that version and searches the
concrete version, so a re-index's alias flip never mixes models within one answer.

``SearchService`` is the work; ``Search`` the deployment of it. With ``search_in_ingress`` (the
local profile) the ingress holds a ``SearchService`` itself and a search crosses one process hop
fewer (serve_apps/search_client.py, docs/serving.md)."""

from __future__ import annotations

import asyncio
import time

from ray import serve

from raystore import RayStore, store_for
from ruai.retrieval import Mode, Query, Searcher
from ruai.settings import Settings
from ruai.store.aliases import CollectionVersion
from ruai.store.base import CollectionNotFoundError, Hit, SearchRequest

VERSION_TTL_S = 1.0


class SearchService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.searcher = Searcher.from_settings(settings, store=None)
        self._store: RayStore | None = None
        self._versions: dict[str, tuple[float, CollectionVersion]] = {}

    def _connected(self) -> RayStore:
        # (re)connect lazily: a store that is down at start or dies later comes back on its own
        if self._store is None:
            self._store = store_for(self.settings)
        return self._store

    async def _version(self, collection: str) -> CollectionVersion:
        """The concrete version ``collection`` names (an alias resolved) and its dense model."""
        now = time.monotonic()
        cached = self._versions.get(collection)
        if cached is None or cached[0] < now:
            try:
                version = await self._connected().version_of_async(collection)
            except Exception:
                self._store = None  # as in search: reconnect next time
                raise
            cached = self._versions[collection] = (now + VERSION_TTL_S, version)
        return cached[1]

    async def _request(self, query: Query) -> SearchRequest:
        """The store request of one query (``Search`` batches it with concurrent ones)."""
        [request] = await self._requests([query])
        return request

    async def _requests(self, queries: list[Query]) -> list[SearchRequest]:
        # encoding is CPU work (a transformer forward pass with e5): off the event loop
        return await asyncio.to_thread(self.searcher.requests, queries)

    async def search(
        self,
        collection: str,
        tenant: str,
        query: str,
        top_k: int,
        mode: Mode = "hybrid",
        dense_weight: float | None = None,
        access: frozenset[str] | None = None,
    ) -> list[Hit]:
        """``dense_weight``: an experiment arm's fusion weight instead of RUAI_DENSE_WEIGHT;
        ``access``: the caller's labels (Principal.access_labels), filtered inside the query."""
        version = await self._version(collection)
        request = await self._request(
            Query(query, tenant, top_k, mode, access, version, dense_weight)
        )
        try:
            return await self._connected().search_async(version.name, request)
        except CollectionNotFoundError:
            self._versions.pop(collection, None)  # a version dropped since it was resolved
            raise
        except Exception:
            self._store = None  # the store (or its owner actor) failed: reconnect next time
            raise

    async def document(
        self,
        collection: str,
        tenant: str,
        doc_id: str,
        query: str,
        limit: int,
        access: frozenset[str] | None = None,
    ) -> list[Hit]:
        """The chunks (up to ``limit``) of one of the tenant's documents that ``access`` may
        read, in document order: a source card's "in context" view."""
        if not tenant:
            raise ValueError("every search is filtered to one tenant; none was given")
        version = await self._version(collection)
        dense = self.searcher.dense_for(version)
        [vectors] = await asyncio.to_thread(self.searcher.encode, [query], {"dense"}, dense)
        fusion = self.searcher.fusion_for(dense)
        request = SearchRequest(dense=vectors.dense, tenant=tenant, limit=limit, fusion=fusion,
                                doc_ids=[doc_id], access=access)  # fmt: skip
        hits = await self._connected().search_async(version.name, request)
        return sorted(hits, key=lambda hit: int(hit.payload.get("chunk_index", 0)))

    async def readable(
        self, collection: str, tenant: str, doc_ids: list[str], access: frozenset[str] | None
    ) -> list[str]:
        """Those of ``doc_ids`` the caller may still read (a saved answer's sources)."""
        version = await self._version(collection)
        return await self._connected().readable_docs_async(version.name, tenant, doc_ids, access)

    async def check(self, collection: str) -> bool:
        """True when the store serves the collection, False when it answers that it is absent;
        raises when the store is down (a count opens the shard, unlike an existence check)."""
        try:
            await self._connected().count_async(collection)
        except CollectionNotFoundError:
            return False
        except Exception:
            self._store = None
            raise
        return True

    async def embed(self, texts: list[str]) -> tuple[list[list[float]], int]:
        """Passage-side dense vectors of ``texts`` and how many tokens they held."""
        dense = self.searcher.dense

        def encode() -> tuple[list[list[float]], int]:
            tokens = sum(dense.count_tokens(text) for text in texts)
            return dense.encode_passages(texts).tolist(), tokens

        return await asyncio.to_thread(encode)

    async def dense_model(self) -> str:
        return self.searcher.dense.name


@serve.deployment(max_ongoing_requests=64)
class Search(SearchService):
    """The deployment: concurrent requests encoded in one batch (one encoder call, e.g. on the
    encoder's GPU fraction), each then awaiting its own store call."""

    async def _request(self, query: Query) -> SearchRequest:
        return await self._batched_request(query)

    # no waiting for a batch to fill: under load, requests queue while one batch is encoded
    @serve.batch(max_batch_size=32, batch_wait_timeout_s=0.0)
    async def _batched_request(self, queries: list[Query]) -> list[SearchRequest]:
        return await self._requests(queries)
