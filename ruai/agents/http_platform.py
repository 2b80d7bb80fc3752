"""The platform's tools over its HTTP API (``/v1/search``, ``/v1/context``, ``/v1/models``,
``/v1/chat/completions``), as the holder of one API key: what an agent job runs, so that the
served application enforces the key's tenant exactly as for any other client. The agent's steps
go to the same API (``/v1/agent/steps``): the application writes them to its audit trail as the
key's principal."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import httpx

from ruai.agents.loop import AgentRun, Step
from ruai.tls import tls_context

RAG_PREFIX = "rag-"


class PlatformHttpError(RuntimeError):
    pass


class HttpPlatform:
    def __init__(
        self, base_url: str, api_key: str | None, collection: str, timeout_s: float = 120.0
    ) -> None:
        self.base = base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.collection = collection
        self.timeout_s = timeout_s

    async def _call(self, method: str, path: str, body: dict | None = None) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=self.timeout_s, verify=tls_context()) as client:
            response = await client.request(method, f"{self.base}{path}", json=body,
                                            headers=self.headers)  # fmt: skip
        if response.status_code != 200:
            raise PlatformHttpError(f"{path}: {response.status_code} {response.text[:300]}")
        return response.json()

    async def search(self, query: str, collection: str | None, top_k: int) -> dict[str, Any]:
        body = {"query": query, "collection": collection or self.collection, "top_k": top_k}
        found = await self._call("POST", "/v1/search", body)
        hits = [{k: v for k, v in hit.items() if k != "snippet"} for hit in found["data"]]
        return {"collection": found["collection"], "hits": hits}

    async def read(
        self, source: str, chunk_id: str, collection: str | None, query: str | None
    ) -> dict[str, Any]:
        body = {"model": f"{RAG_PREFIX}{collection or self.collection}", "source": source,
                "chunk_id": chunk_id, "query": query or source}  # fmt: skip
        return await self._call("POST", "/v1/context", body)

    async def collections(self) -> dict[str, Any]:
        models = await self._call("GET", "/v1/models")
        return {"collections": [{"name": m["collection"], "model": m["id"]}
                                for m in models["data"] if m.get("collection")]}  # fmt: skip

    async def ask(self, question: str, collection: str | None) -> dict[str, Any]:
        body = {"model": f"{RAG_PREFIX}{collection or self.collection}",
                "messages": [{"role": "user", "content": question}]}  # fmt: skip
        answer = await self._call("POST", "/v1/chat/completions", body)
        return {"answer": answer["choices"][0]["message"]["content"] or "",
                "sources": answer.get("sources") or []}  # fmt: skip

    async def record_step(self, run: AgentRun, step: Step) -> None:
        """The agent loop's ``on_step``: the step into the platform's audit trail."""
        await self._call("POST", "/v1/agent/steps",
                         {"run_id": run.run_id, "task": run.task, **asdict(step)})  # fmt: skip
