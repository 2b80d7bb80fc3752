"""The platform's own tools: search the documents, read a chunk in its document, list the
collections, ask for a cited answer. They run over a ``Platform``: the serving application
itself (the MCP server, as the caller's tenant) or its HTTP API (agent jobs, as the job's key).

Descriptions are in Russian, argument names in English: the documents are Russian and retrieval
matches Russian words (lemma BM25, a Russian encoder), so the model that reads the descriptions
should write its queries in Russian; identifiers stay ASCII, as JSON schemas and clients expect.
"""

from __future__ import annotations

from typing import Any, Protocol

from ruai.agents.tools import Tool
from ruai.llm.passages import passages_from_hits
from ruai.store.base import Hit

MAX_TOP_K = 20
NEIGHBOURS = 2  # chunks on each side of the one read_document shows


class Platform(Protocol):
    """What the tools need of the platform, always on behalf of one caller (its tenant)."""

    async def search(self, query: str, collection: str | None, top_k: int) -> dict[str, Any]:
        """{"collection", "hits": [{"n", "source", "title", "page"?, "chunk_id", "score",
        "text"}]}"""

    async def read(
        self, source: str, chunk_id: str, collection: str | None, query: str | None
    ) -> dict[str, Any]:
        """{"source", "title", "chunks": [{"chunk_id", "text", "cited"}]}: the chunk among its
        neighbours in the document."""

    async def collections(self) -> dict[str, Any]:
        """{"collections": [{"name", "model"}]}"""

    async def ask(self, question: str, collection: str | None) -> dict[str, Any]:
        """{"answer", "sources": [{"n", "source", "title", "chunk_id", "score", "snippet"}]}"""


COLLECTION = {
    "type": "string",
    "description": "Коллекция документов (из list_collections); по умолчанию основная.",
}


def platform_tools(platform: Platform) -> list[Tool]:
    async def search_documents(
        query: str, collection: str | None = None, top_k: int = 5
    ) -> dict[str, Any]:
        return await platform.search(query, collection, top_k)

    async def read_document(
        source: str, chunk_id: str, collection: str | None = None, query: str | None = None
    ) -> dict[str, Any]:
        return around_cited(await platform.read(source, chunk_id, collection, query))

    async def list_collections() -> dict[str, Any]:
        return await platform.collections()

    async def ask(question: str, collection: str | None = None) -> dict[str, Any]:
        return await platform.ask(question, collection)

    return [
        Tool(
            "search_documents",
            "Ищет фрагменты документов, относящиеся к запросу (гибридный поиск: по смыслу и по "
            "словам). Документы на русском языке: пишите запрос по-русски. Возвращает фрагменты "
            "с источником, страницей (если есть), оценкой и текстом.",
            _object({
                "query": {"type": "string", "minLength": 1, "maxLength": 2000,
                          "description": "Что искать, по-русски."},
                "collection": COLLECTION,
                "top_k": {"type": "integer", "minimum": 1, "maximum": MAX_TOP_K, "default": 5,
                          "description": "Сколько фрагментов вернуть."},
            }, ["query"]),
            search_documents,
        ),  # fmt: skip
        Tool(
            "read_document",
            "Показывает фрагмент (chunk_id из search_documents) в его документе: он и по два "
            "соседних фрагмента того же документа по порядку; сам фрагмент отмечен cited=true.",
            _object({
                "source": {"type": "string", "minLength": 1,
                           "description": "Источник фрагмента (поле source)."},
                "chunk_id": {"type": "string", "minLength": 1,
                             "description": "Идентификатор фрагмента (поле chunk_id)."},
                "collection": COLLECTION,
                "query": {"type": "string", "maxLength": 2000,
                          "description": "Что ищете в документе (необязательно)."},
            }, ["source", "chunk_id"]),
            read_document,
        ),  # fmt: skip
        Tool(
            "list_collections",
            "Перечисляет коллекции документов, доступные для поиска и вопросов.",
            _object({}, []),
            list_collections,
        ),
        Tool(
            "ask",
            "Отвечает на вопрос по документам коллекции со ссылками [n] на источники "
            "(sources). Вопрос задавайте по-русски.",
            _object({
                "question": {"type": "string", "minLength": 1, "maxLength": 2000,
                             "description": "Вопрос по-русски."},
                "collection": COLLECTION,
            }, ["question"]),
            ask,
        ),  # fmt: skip
    ]


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required,
            "additionalProperties": False}  # fmt: skip


def hit_fields(hits: list[Hit]) -> list[dict[str, Any]]:
    """Retrieved chunks as search_documents returns them (numbered, best first)."""
    found = []
    for passage, hit in zip(passages_from_hits(hits), hits, strict=True):
        fields = {"n": passage.n, "source": passage.source, "title": passage.title,
                  "chunk_id": passage.chunk_id, "score": round(float(passage.score), 6),
                  "text": passage.text}  # fmt: skip
        if hit.payload.get("page") is not None:
            fields["page"] = hit.payload["page"]
        if passage.parent_source:  # an e-mail attachment: the mail it came with
            fields["parent_source"] = passage.parent_source
        found.append(fields)
    return found


def around_cited(document: dict[str, Any], radius: int = NEIGHBOURS) -> dict[str, Any]:
    """The document with only the cited chunk and ``radius`` chunks on each side of it."""
    chunks = document["chunks"]
    at = next((i for i, chunk in enumerate(chunks) if chunk.get("cited")), 0)
    return document | {"chunks": chunks[max(0, at - radius) : at + radius + 1]}
