"""Server-sent events of a streamed chat completion: OpenAI's ``chat.completion.chunk`` frames,
the citations on the final chunk, the usage chunk when asked, then ``[DONE]``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from serve_apps import openai_shapes as shapes
from serve_apps.errors import error_body
from serve_apps.generation import Generation

DONE = "data: [DONE]\n\n"


def frame(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


async def chat_events(
    cid: str,
    model: str,
    first: str,
    deltas: AsyncIterator[str],
    out: Generation,
    include_usage: bool,
    on_done: Callable[[], None],
    on_error: Callable[[BaseException], str],
    final: dict[str, Any] | None = None,
) -> AsyncIterator[str]:
    """``first`` (already received, so that a failing generator is a clean HTTP error) and the
    rest of ``deltas``; a failure mid-stream ends it with an error event. ``final``: more
    fields of the final chunk (the experiment arm that answered)."""
    yield frame(shapes.chat_chunk(cid, model, {"role": "assistant", "content": first}))
    try:
        async for delta in deltas:
            yield frame(shapes.chat_chunk(cid, model, {"content": delta}))
    except Exception as exc:
        yield frame(error_body(on_error(exc), "generator_error"))
        return
    finally:
        await deltas.aclose()
    on_done()
    sources = {"sources": [p.citation() for p in out.passages]} | (final or {})
    yield frame(shapes.chat_chunk(cid, model, {}, "stop", sources))
    if include_usage:
        usage = shapes.usage(out.prompt_tokens, out.completion_tokens)
        yield frame(shapes.chat_chunk(cid, model, None, extra={"usage": usage}))
    yield DONE
