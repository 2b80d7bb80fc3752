"""The platform's tool definitions without a server: schemas, argument checks, the offered
OpenAI shape and read_document's window."""

from __future__ import annotations

import asyncio

import jsonschema
import pytest

from ruai.agents.platform_tools import around_cited, platform_tools
from ruai.agents.tools import ToolArgumentsError


class Recorded:
    """A platform that answers with what it was asked (the tools' wiring, not the platform)."""

    async def search(self, query, collection, top_k):
        return {"collection": collection, "hits": [], "asked": [query, top_k]}

    async def read(self, source, chunk_id, collection, query):
        chunks = [{"chunk_id": str(i), "text": "", "cited": str(i) == chunk_id} for i in range(9)]
        return {"source": source, "title": "", "chunks": chunks}

    async def collections(self):
        return {"collections": []}

    async def ask(self, question, collection):
        return {"answer": question, "sources": []}


TOOLS = {tool.name: tool for tool in platform_tools(Recorded())}


def test_every_tool_has_a_valid_object_schema_and_an_openai_shape() -> None:
    assert set(TOOLS) == {"search_documents", "read_document", "list_collections", "ask"}
    for tool in TOOLS.values():
        jsonschema.Draft202012Validator.check_schema(tool.parameters)
        assert tool.parameters["type"] == "object" and tool.description
        spec = tool.openai_spec()
        assert spec["type"] == "function" and spec["function"]["name"] == tool.name


def test_arguments_are_checked_against_the_schema_before_the_call() -> None:
    search = TOOLS["search_documents"]
    assert asyncio.run(search.call('{"query": "Тесла", "top_k": 3}'))["asked"] == ["Тесла", 3]
    assert asyncio.run(search.call({"query": "Тесла"}))["asked"] == ["Тесла", 5]
    for bad, where in (({}, "query"), ({"query": "x", "top_k": 0}, "top_k"),
                       ({"query": "x", "rm": 1}, "rm"), ("{not json", "not JSON")):  # fmt: skip
        with pytest.raises(ToolArgumentsError, match=where):
            asyncio.run(search.call(bad))


def test_read_document_shows_the_chunk_among_its_neighbours() -> None:
    read = asyncio.run(TOOLS["read_document"].call({"source": "a.md", "chunk_id": "4"}))
    assert [c["chunk_id"] for c in read["chunks"]] == ["2", "3", "4", "5", "6"]
    first = around_cited({"chunks": [{"chunk_id": "0", "cited": True}, {"chunk_id": "1"}]})
    assert [c["chunk_id"] for c in first["chunks"]] == ["0", "1"]
