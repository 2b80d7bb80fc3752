"""Agents against the deployed local application (the extractive generator, two tenants): an
Open WebUI-shaped session with tools, the platform's tools over MCP with the official client,
and the agent job over a folder of tasks."""

from __future__ import annotations

import json

import pytest

from tests.support import http_calls
from tests.support.chat_app import MODEL
from tests.support.query_log_rows import logged_rows

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
    models = http_calls.get(f"{base}/v1/models", headers=headers(), timeout=60)
    assert models.status_code == 200 and MODEL in [m["id"] for m in models.json()["data"]]
    body = {
        "model": MODEL, "stream": True, "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "Когда умер Никола Тесла?"}],
        "tools": [WEATHER], "tool_choice": "auto",
    }  # fmt: skip
    chunks = []
    with http_calls.stream("POST", f"{base}/v1/chat/completions", json=body, headers=headers(),
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
    titled = http_calls.post(f"{base}/v1/chat/completions", json=title, headers=headers(),
                             timeout=60)  # fmt: skip
    assert titled.status_code == 200, titled.text
    assert titled.json()["choices"][0]["message"]["content"]


@pytest.mark.parametrize("choice", ["required", {"type": "function",
                                                 "function": {"name": "get_current_weather"}}])
def test_a_demanded_tool_call_is_400_from_a_model_that_cannot_call_tools(chat_served, choice):
    body = {"model": MODEL, "messages": [{"role": "user", "content": "Погода в Москве?"}],
            "tools": [WEATHER], "tool_choice": choice}  # fmt: skip
    response = http_calls.post(f"{chat_served['base']}/v1/chat/completions", json=body,
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


def test_mcp_searches_are_in_the_query_log(chat_served) -> None:
    """Who searched what through MCP, with which tool and arguments, and which chunks came
    back, as for the API."""
    import uuid

    from ruai.lifecycle.query_log import question_hash

    query = f"Никола Тесла {uuid.uuid4().hex[:8]}"
    arguments = {"query": query, "top_k": 2}
    called = mcp_session(chat_served["base"], "key-acme", lambda c: c.call_tool(
        "search_documents", arguments))  # fmt: skip
    found = result_of(called)
    digest = question_hash(query)
    (row,) = logged_rows(chat_served["query_log"], lambda r: r["question_sha256"] == digest)
    assert (row["endpoint"], row["tenant"], row["question"]) == ("/mcp", "acme", query)
    assert list(row["chunk_ids"]) == [hit["chunk_id"] for hit in found["hits"]]
    assert (row["tool"], json.loads(row["tool_arguments"])) == ("search_documents", arguments)
    assert row["result_chars"] == len(called.content[0].text) and row["error"] is None


def test_mcp_without_a_key_is_401(chat_served) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    for auth in ({}, headers("wrong")):
        response = http_calls.post(f"{chat_served['base']}/mcp", json=body, headers=auth,
                                   timeout=60)  # fmt: skip
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


# --- jobs.agent: the agent over a dataset of tasks --------------------------------------------


def test_agent_job_answers_every_task_and_a_rerun_skips_the_finished(
    chat_served, ray_cluster, tmp_path
) -> None:
    """20 questions and one too long to ask, 1 task at a time: the job is killed after a few
    results; the re-run runs only the others (the failed one again) and leaves the finished
    results as they were."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from tests.support.chat_app import FOLLOW_UPS

    questions = [q for first, follow_up, _ in FOLLOW_UPS for q in (first, follow_up)]
    tasks = tmp_path / "tasks.jsonl"
    rows = [{"id": f"q{i:02d}", "task": q} for i, q in enumerate(questions)]
    rows.append({"id": "too-long", "task": "Тесла " * 1000})
    tasks.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    out = tmp_path / "out"
    env = os.environ | {
        "RAY_ADDRESS": ray_cluster["address"], "RUAI_AGENT_API_URL": f"{chat_served['base']}/v1",
        "RUAI_AGENT_API_KEY": "key-acme", "RUAI_AGENT_MODEL": MODEL, "RUAI_COLLECTION": "chat_test",
    }  # fmt: skip
    command = [sys.executable, "-m", "jobs.agent", str(tasks), str(out), "--concurrency", "1"]
    repo = Path(__file__).resolve().parents[2]
    results = out / "results"

    first = subprocess.Popen(command, cwd=repo, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    while first.poll() is None and len(list(results.glob("*.json"))) < 3:
        time.sleep(0.02)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    time.sleep(2)  # the killed driver's actor is gone with it
    before = {p.name: p.read_bytes() for p in results.glob("*.json")}
    assert 3 <= len(before) < len(rows), "the first run was not stopped halfway"

    again = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True,
                           timeout=600)  # fmt: skip
    assert again.returncode == 1, again.stderr  # one task failed: reported, exit 1
    summary = json.loads(again.stdout.strip().splitlines()[-1])
    done_before = sum(json.loads(b)["status"] == "answered" for b in before.values())
    assert summary["total"] == 21 and summary["skipped"] == done_before
    assert summary["ran"] == 21 - done_before
    assert [f["id"] for f in summary["failures"]] == ["too-long"]
    assert "413" in summary["failures"][0]["error"]
    after = {p.name: p.read_bytes() for p in results.glob("*.json")}
    assert len(after) == 21
    assert all(after[name] == body for name, body in before.items()
               if json.loads(body)["status"] == "answered")  # fmt: skip
    answered = [json.loads(b) for b in after.values() if json.loads(b)["status"] == "answered"]
    assert len(answered) == 20
    for result in answered:
        assert result["answer"] and result["citations"] and result["steps"]
        assert result["steps"][0]["prompt_tokens"] > 0
        assert all(c["source"] in chat_served["sources"]["acme"] for c in result["citations"])


# --- the agent's pieces over the HTTP API ------------------------------------------------------


def test_platform_tools_over_http_run_as_the_keys_tenant(chat_served) -> None:
    """What agent jobs call: every tool through the HTTP API with a key; another tenant's key
    neither finds nor reads acme's chunks."""
    import asyncio

    from ruai.agents.http_platform import HttpPlatform, PlatformHttpError
    from ruai.agents.platform_tools import platform_tools

    def tools(key: str) -> dict:
        platform = HttpPlatform(chat_served["base"], key, "chat_test")
        return {tool.name: tool for tool in platform_tools(platform)}

    acme, globex = tools("key-acme"), tools("key-globex")
    question = {"query": "Когда умер Никола Тесла?", "top_k": 3}
    found = asyncio.run(acme["search_documents"].call(question))
    assert len(found["hits"]) == 3 and all(
        h["source"] in chat_served["sources"]["acme"] for h in found["hits"])
    hit = found["hits"][0]
    read = asyncio.run(acme["read_document"].call({"source": hit["source"],
                                                   "chunk_id": hit["chunk_id"]}))
    assert [c["chunk_id"] for c in read["chunks"] if c["cited"]] == [hit["chunk_id"]]
    assert len(read["chunks"]) <= 5
    listed = asyncio.run(acme["list_collections"].call({}))
    assert listed == {"collections": [{"name": "chat_test", "model": MODEL}]}
    answer = asyncio.run(acme["ask"].call({"question": "Когда умер Никола Тесла?"}))
    assert "1943" in answer["answer"] and answer["sources"]
    other = asyncio.run(globex["search_documents"].call(question))
    assert all(h["source"] in chat_served["sources"]["globex"] for h in other["hits"])
    with pytest.raises(PlatformHttpError, match="404"):
        asyncio.run(globex["read_document"].call({"source": hit["source"],
                                                  "chunk_id": hit["chunk_id"]}))


def test_agent_loop_ends_answered_at_its_time_budget_or_failed(chat_served) -> None:
    """Against the extractive RAG model (it answers without calling tools): an answer with its
    citations in one step, recorded in the audit trail; no time left: time_budget; a model that
    does not exist: failed."""
    import asyncio

    from ruai.agents.chat_model import OpenAIChatModel
    from ruai.agents.http_platform import HttpPlatform
    from ruai.agents.loop import Agent, Budget
    from ruai.agents.platform_tools import platform_tools

    platform = HttpPlatform(chat_served["base"], "key-acme", "chat_test")
    tools = platform_tools(platform)

    def run(model: str, seconds: float):
        chat = OpenAIChatModel(f"{chat_served['base']}/v1", model, "key-acme")
        agent = Agent(chat, tools, Budget(max_steps=3, max_seconds=seconds),
                      on_step=platform.record_step)  # fmt: skip
        return asyncio.run(agent.run("Когда умер Никола Тесла?"))

    answered = run(MODEL, 120)
    assert answered.status == "answered" and "1943" in answered.answer
    assert len(answered.steps) == 1 and answered.steps[0].prompt_tokens > 0
    assert answered.citations and all(
        c["source"] in chat_served["sources"]["acme"] for c in answered.citations)
    # its step is in the audit trail, as the key's
    (row,) = logged_rows(chat_served["query_log"], lambda r: r["agent_run"] == answered.run_id)
    assert (row["endpoint"], row["tenant"], row["auth"]) == ("/v1/agent/steps", "acme", "api_key")
    assert (row["agent_step"], row["tool"], row["question"]) == (1, None, answered.task)
    step = answered.steps[0]
    assert (row["prompt_tokens"], row["completion_tokens"]) == (
        step.prompt_tokens, step.completion_tokens)
    assert run(MODEL, 1e-6).status == "time_budget"
    failed = run("rag-nope", 120)
    assert failed.status == "failed" and "404" in failed.error
