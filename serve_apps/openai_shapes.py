"""OpenAI-shaped response bodies: chat completions, their stream chunks, models, embeddings."""

from __future__ import annotations

import time
import uuid
from typing import Any


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}  # fmt: skip


def chat_completion(
    cid: str,
    model: str,
    text: str,
    usage_: dict[str, int],
    extra: dict[str, Any],
    finish_reason: str = "stop",
    tool_calls: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if tool_calls:  # OpenAI's shape: no content when the model only called tools
        message = {"role": "assistant", "content": text or None, "tool_calls": tool_calls}
    return {
        "id": cid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish_reason,
            }
        ],
        "usage": usage_,
        **extra,
    }


def chat_chunk(
    cid: str,
    model: str,
    delta: dict[str, Any] | None,
    finish_reason: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    choices = [] if delta is None else [
        {"index": 0, "delta": delta, "finish_reason": finish_reason}
    ]  # fmt: skip
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
        **(extra or {}),
    }


def model_card(model_id: str, owned_by: str, **extra: Any) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": 0, "owned_by": owned_by, **extra}


def embeddings(model: str, vectors: list[list[float]], tokens: int) -> dict[str, Any]:
    return {
        "object": "list",
        "model": model,
        "data": [
            {"object": "embedding", "index": i, "embedding": vector}
            for i, vector in enumerate(vectors)
        ],
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
