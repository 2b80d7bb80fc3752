"""The agent's model: an OpenAI-compatible chat completions endpoint (this platform's own API,
or any other), called with the tools and the conversation so far."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from ruai.tls import tls_context


class ModelError(RuntimeError):
    """The model's endpoint refused or failed the request (status and its message)."""


@dataclass(slots=True)
class ModelReply:
    content: str
    tool_calls: list[dict[str, Any]]  # OpenAI's shape: {"id", "type", "function": {...}}
    prompt_tokens: int = 0
    completion_tokens: int = 0
    sources: list[dict[str, Any]] = field(default_factory=list)  # a RAG model's citations

    def message(self) -> dict[str, Any]:
        """The reply as the assistant message the next request sends back."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content or None}
        if self.tool_calls:
            message["tool_calls"] = self.tool_calls
        return message


class ChatModel(Protocol):
    async def complete(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], tool_choice: Any
    ) -> ModelReply: ...


class OpenAIChatModel:
    """``POST {base_url}/chat/completions`` (non-streamed) with a bearer key."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout_s: float = 120.0,
        sampling: dict[str, Any] | None = None,
    ) -> None:
        self.url = f"{base_url.rstrip('/')}/chat/completions"
        self.model = model
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.timeout_s = timeout_s
        self.sampling = sampling or {}

    async def complete(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], tool_choice: Any
    ) -> ModelReply:
        body: dict[str, Any] = {"model": self.model, "messages": messages, **self.sampling}
        if tools:
            body |= {"tools": tools, "tool_choice": tool_choice}
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s, verify=tls_context()) as client:
                response = await client.post(self.url, json=body, headers=self.headers)
        except httpx.HTTPError as exc:  # unreachable, timed out: the run fails, with the reason
            raise ModelError(f"{self.url}: {type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise ModelError(f"{self.url} answered {response.status_code}: "
                             f"{response.text[:500]}")  # fmt: skip
        data = response.json()
        message = data["choices"][0]["message"]
        usage = data.get("usage") or {}
        return ModelReply(
            content=message.get("content") or "",
            tool_calls=list(message.get("tool_calls") or []),
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            sources=list(data.get("sources") or []),
        )
