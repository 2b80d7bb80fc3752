"""The platform's tools (ruai/agents/platform_tools.py) inside the serving application: search,
a chunk in its document, the collections and a cited answer, always as one caller (its tenant
and the documents its groups and roles may read), through the ingress's own retrieval and
generator (the MCP server's backend). A search and an answer are noted on the request for the
query log's audit record, as the API's are: who asked, what, in which collection, which chunks
came back and which sources an answer cited."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from ruai.agents.platform_tools import hit_fields
from ruai.identity import Principal
from ruai.llm.passages import passages_from_hits
from ruai.store.base import Hit
from serve_apps.chat_routes import document_context
from serve_apps.generation import Generation
from serve_apps.query_logging import note
from serve_apps.stream_events import StreamEvent, answer_of
from serve_apps.upstream import within


class IngressPlatform:
    def __init__(
        self, ingress: Any, principal: Principal, request: Request | None = None
    ) -> None:
        self.ingress = ingress
        self.principal = principal
        self.request = request

    def _note(self, question: str, collection: str, hits: list[Hit]) -> None:
        if self.request is not None:
            note(self.request, tenant=self.principal.tenant, principal=self.principal,
                 question=question, collection=collection, hits=hits)  # fmt: skip

    def _collection(self, name: str | None) -> str:
        router = self.ingress.router
        return router.collection(name or router.collections[0])

    async def search(self, query: str, collection: str | None, top_k: int) -> dict[str, Any]:
        collection = self._collection(collection)
        hits = await self.ingress._search(collection, self.principal, query, top_k)
        self._note(query, collection, hits)
        return {"collection": collection, "hits": hit_fields(hits)}

    async def read(
        self, source: str, chunk_id: str, collection: str | None, query: str | None
    ) -> dict[str, Any]:
        return await document_context(self.ingress, self.principal, self._collection(collection),
                                      source, chunk_id, query or source, self.request)  # fmt: skip

    async def collections(self) -> dict[str, Any]:
        models = self.ingress.router.rag_models()
        return {"collections": [{"name": c, "model": m} for m, c in models]}

    async def ask(self, question: str, collection: str | None) -> dict[str, Any]:
        ingress = self.ingress
        collection = self._collection(collection)
        hits = await ingress._search(collection, self.principal, question, ingress.settings.top_k)
        self._note(question, collection, hits)
        out = Generation()
        events = ingress.generator.rag(question, passages_from_hits(hits), {}, out)

        async def collected() -> list[StreamEvent]:
            return [event async for event in events]

        with ingress._generation_errors():
            answer = await within(collected(), ingress.settings.generator_timeout_s,
                                  "RUAI_GENERATOR_TIMEOUT_S")  # fmt: skip
        text = answer_of(answer)[0]
        if self.request is not None:
            note(self.request, cited=out.passages)
        return {"answer": text, "sources": [p.citation() for p in out.passages]}
