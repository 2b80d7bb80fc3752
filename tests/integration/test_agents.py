"""Agents against the deployed local application (the extractive generator, two tenants): an
Open WebUI-shaped session with tools, and the platform's tools over MCP with the official
client."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.support.chat_app import MODEL

pytestmark = pytest.mark.integration

# what Open WebUI sends with native function calling: its tools on every chat
WEATHER = {"type": "function", "function": {
    "name": "get_current_weather", "description": "Get the current weather in a given city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}  # fmt: skip
TITLE_PROMPT = (
    "### Task:\nGenerate a concise, 3-5 word title with an emoji summarizing the chat history.\n"
    "### Output:\nJSON format: { \"title\": \"your concise title here\" }\n"
    "### Chat History:\n<chat_history>\nUSER: Когда умер Никола Тесла?\nASSISTANT: {answer}\n"
    "</chat_history>"
)


def headers(key: str = "key-acme") -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_an_open_webui_session_with_tools_is_answered(chat_served) -> None:
    base = chat_served["base"]
    models = httpx.get(f"{base}/v1/models", headers=headers(), timeout=60)
    assert models.status_code == 200 and MODEL in [m["id"] for m in models.json()["data"]]
    body = {
        "model": MODEL, "stream": True, "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "Когда умер Никола Тесла?"}],
        "tools": [WEATHER], "tool_choice": "auto",
    }  # fmt: skip
    chunks = []
    with httpx.stream("POST", f"{base}/v1/chat/completions", json=body, headers=headers(),
                      timeout=60) as response:  # fmt: skip
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                chunks.append(json.loads(line[6:]))
    answer = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert "1943" in answer
    assert not any(c["choices"][0]["delta"].get("tool_calls") for c in chunks if c["choices"])
    assert chunks[-1]["usage"]["completion_tokens"] > 0
    title = {"model": MODEL, "stream": False,
             "messages": [{"role": "user", "content": TITLE_PROMPT.replace("{answer}", answer)}]}
    titled = httpx.post(f"{base}/v1/chat/completions", json=title, headers=headers(), timeout=60)
    assert titled.status_code == 200, titled.text
    assert titled.json()["choices"][0]["message"]["content"]


@pytest.mark.parametrize("choice", ["required", {"type": "function",
                                                 "function": {"name": "get_current_weather"}}])
def test_a_demanded_tool_call_is_400_from_a_model_that_cannot_call_tools(chat_served, choice):
    body = {"model": MODEL, "messages": [{"role": "user", "content": "Погода в Москве?"}],
            "tools": [WEATHER], "tool_choice": choice}  # fmt: skip
    response = httpx.post(f"{chat_served['base']}/v1/chat/completions", json=body,
                          headers=headers(), timeout=60)  # fmt: skip
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "tool_calls_unsupported" and error["param"] == "tool_choice"
    assert "cannot call tools" in error["message"]


# --- the platform's tools over MCP, with the official client ---------------------------------


def mcp_session(base: str, key: str, work):
    """``work(client)`` in an MCP session (streamable HTTP) with the API key; its result."""
    import asyncio

    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async def session():
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=120)
        transport = streamable_http_client(f"{base}/mcp", http_client=http)
        async with http, Client(transport) as client:
            return await work(client)

    return asyncio.run(session())


def result_of(called) -> dict:
    assert not called.is_error, called.content
    return json.loads(called.content[0].text)


def test_mcp_client_lists_and_calls_every_tool(chat_served) -> None:
    acme = chat_served["sources"]["acme"]

    async def work(client):
        listed = (await client.list_tools()).tools
        found = result_of(await client.call_tool(
            "search_documents", {"query": "Когда умер Никола Тесла?", "top_k": 3}))
        hit = found["hits"][0]
        read = result_of(await client.call_tool(
            "read_document", {"source": hit["source"], "chunk_id": hit["chunk_id"]}))
        collections = result_of(await client.call_tool("list_collections", {}))
        answer = result_of(await client.call_tool("ask", {"question": "Когда умер Никола Тесла?"}))
        wrong = await client.call_tool("search_documents", {"top_k": 3})
        missing = await client.call_tool("search_documents", {"query": "x", "collection": "nope"})
        return listed, found, read, collections, answer, wrong, missing

    listed, found, read, collections, answer, wrong, missing = mcp_session(
        chat_served["base"], "key-acme", work
    )
    assert {t.name for t in listed} == {"search_documents", "read_document", "list_collections",
                                        "ask"}  # fmt: skip
    assert all(t.description and t.input_schema["type"] == "object" for t in listed)
    assert len(found["hits"]) == 3 and all(h["source"] in acme for h in found["hits"])
    assert {"n", "source", "title", "chunk_id", "score", "text"} <= set(found["hits"][0])
    cited = [c for c in read["chunks"] if c["cited"]]
    assert len(cited) == 1 and cited[0]["chunk_id"] == found["hits"][0]["chunk_id"]
    assert collections == {"collections": [{"name": "chat_test", "model": MODEL}]}
    assert "1943" in answer["answer"] and answer["sources"]
    assert all(s["source"] in acme for s in answer["sources"])
    assert wrong.is_error and "query" in wrong.content[0].text
    assert missing.is_error and "nope" in missing.content[0].text


def test_mcp_without_a_key_is_401(chat_served) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    for auth in ({}, headers("wrong")):
        response = httpx.post(f"{chat_served['base']}/mcp", json=body, headers=auth, timeout=60)
        assert response.status_code == 401, response.text


def test_mcp_never_gives_a_tenant_another_tenants_chunks(chat_served) -> None:
    """globex's key, over 50 calls that ask for acme's documents: only globex's sources come
    back, and acme's chunks cannot be read even by source and id."""
    from tests.support.chat_app import FOLLOW_UPS

    globex = chat_served["sources"]["globex"]
    acme_hit = mcp_session(chat_served["base"], "key-acme", lambda c: c.call_tool(
        "search_documents", {"query": "Никола Тесла", "top_k": 1}))  # fmt: skip
    acme_hit = result_of(acme_hit)["hits"][0]
    questions = [q for first, follow_up, _ in FOLLOW_UPS for q in (first, follow_up)]

    async def work(client):
        seen, calls, refused = [], 0, 0
        for question in questions:  # 20 questions x 2 tools
            found = result_of(await client.call_tool("search_documents",
                                                     {"query": question, "top_k": 5}))
            seen += [h["source"] for h in found["hits"]]
            answer = result_of(await client.call_tool("ask", {"question": question}))
            seen += [s["source"] for s in answer["sources"]]
            calls += 2
        for _ in range(10):
            read = await client.call_tool("read_document", {"source": acme_hit["source"],
                                                            "chunk_id": acme_hit["chunk_id"]})
            refused += read.is_error
            calls += 1
        return seen, calls, refused

    seen, calls, refused = mcp_session(chat_served["base"], "key-globex", work)
    assert calls >= 50 and refused == 10
    assert seen and set(seen) <= globex, set(seen) - globex
