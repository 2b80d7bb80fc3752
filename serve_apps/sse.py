"""Server-sent events of a streamed chat completion: OpenAI's ``chat.completion.chunk`` frames,
the citations on the final chunk, the usage chunk when asked, then ``[DONE]``. The answer comes
as typed events (``stream_events``): an event with its upstream frame (vLLM's) is relayed as
it is, only the model name swapped and the final one given the citations; an event without one
(the extractive generator's) is framed here."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from serve_apps import openai_shapes as shapes
from serve_apps.errors import error_body
from serve_apps.generation import Generation
from serve_apps.stream_events import ChoiceEvent, Finish, StreamEvent, Usage

DONE = "data: [DONE]\n\n"


def frame(payload: dict[str, Any], separators: tuple[str, str] | None = None) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False, separators=separators)}\n\n"


def decoded(frame_: str) -> dict[str, Any]:
    return json.loads(frame_.strip().removeprefix("data: "))


def _own_delta(event: ChoiceEvent, opens: bool) -> dict[str, Any]:
    """The ``delta`` of a chunk framed here: the first opens the assistant's message; the
    final one carries only what is left of the text."""
    delta: dict[str, Any] = {"role": "assistant"} if opens else {}
    if event.text or not isinstance(event, Finish):
        delta["content"] = event.text
    if event.tool_calls:
        delta["tool_calls"] = list(event.tool_calls)
    return delta


async def chat_stream(
    cid: str,
    model: str,
    first: StreamEvent,
    events: AsyncIterator[StreamEvent],
    out: Generation,
    include_usage: bool,
    on_done: Callable[[], None],
    on_error: Callable[[BaseException], str],
    final: dict[str, Any] | None = None,
) -> AsyncIterator[str]:
    """``first`` (already received, so that a failing generator is a clean HTTP error) and the
    rest of ``events``, under the model name the client asked for; a failure mid-stream ends it
    with an error event. ``final``: more fields of the final chunk (the experiment arm)."""
    upstream, client = (f'"model":{json.dumps(m, ensure_ascii=False)}' for m in (out.model, model))
    opened = False

    def sent(event: StreamEvent) -> str | None:
        nonlocal opened
        if isinstance(event, Usage):
            if not include_usage:
                return None
            if event.frame is not None:
                return event.frame.replace(upstream, client, 1)
            usage = shapes.usage(event.prompt_tokens, event.completion_tokens)
            return frame(shapes.chat_chunk(cid, model, None, extra={"usage": usage}))
        opens, opened = not opened, True
        if isinstance(event, Finish):
            fields = {"sources": [p.citation() for p in out.passages]} | (final or {})
            if event.frame is not None:  # vLLM's compact JSON, as it wrote it
                return frame(decoded(event.frame) | {"model": model} | fields, (",", ":"))
            delta = _own_delta(event, opens)
            return frame(shapes.chat_chunk(cid, model, delta, event.reason, fields))
        if event.frame is not None:
            return event.frame.replace(upstream, client, 1)
        return frame(shapes.chat_chunk(cid, model, _own_delta(event, opens)))

    try:
        if (data := sent(first)) is not None:
            yield data
        async for event in events:
            if (data := sent(event)) is not None:
                yield data
    except Exception as exc:
        yield frame(error_body(on_error(exc), "generator_error"))
        return
    finally:
        await events.aclose()
    on_done()
    yield DONE
