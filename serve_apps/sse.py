"""Server-sent events of a streamed chat completion: OpenAI's ``chat.completion.chunk`` frames,
the citations on the final chunk, the usage chunk when asked, then ``[DONE]``. Text deltas are
framed here (``chat_events``); a generator's own frames (vLLM's) are relayed as they are
(``relay``), only the model name swapped and the final one given the citations."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from serve_apps import openai_shapes as shapes
from serve_apps.errors import error_body
from serve_apps.generation import Generation

DONE = "data: [DONE]\n\n"


FINISHED = '"finish_reason":"'  # in vLLM's compact JSON; null while the answer goes on
NO_CHOICES = '"choices":[]'  # the usage frame


def frame(payload: dict[str, Any], separators: tuple[str, str] | None = None) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False, separators=separators)}\n\n"


def decoded(frame_: str) -> dict[str, Any]:
    return json.loads(frame_.strip().removeprefix("data: "))


def frames_answer(frames: list[str]) -> tuple[str, str, list[dict[str, Any]]]:
    """The answer a generator's frames hold (a non-streamed request), the generator's finish
    reason ("length" when max_tokens cut it, "tool_calls") and the tool calls, reassembled from
    their deltas as OpenAI's clients do (by index: id, name, arguments appended)."""
    parts, reason = [], "stop"
    calls: dict[int, dict[str, Any]] = {}
    for f in frames:
        if NO_CHOICES not in f:
            for choice in decoded(f)["choices"]:
                parts.append(choice["delta"].get("content") or "")
                reason = choice.get("finish_reason") or reason
                for delta in choice["delta"].get("tool_calls") or []:
                    add_tool_call_delta(calls, delta)
    return "".join(parts), reason, [calls[i] for i in sorted(calls)]


def add_tool_call_delta(calls: dict[int, dict[str, Any]], delta: dict[str, Any]) -> None:
    """One streamed tool-call delta added to the calls so far (keyed by the delta's index)."""
    call = calls.setdefault(
        delta.get("index", 0),
        {"id": "", "type": "function", "function": {"name": "", "arguments": ""}},
    )
    call["id"] = delta.get("id") or call["id"]
    function = delta.get("function") or {}
    call["function"]["name"] += function.get("name") or ""
    call["function"]["arguments"] += function.get("arguments") or ""


async def relay(
    model: str,
    first: str,
    frames: AsyncIterator[str],
    out: Generation,
    include_usage: bool,
    on_done: Callable[[], None],
    on_error: Callable[[BaseException], str],
    final: dict[str, Any] | None = None,
) -> AsyncIterator[str]:
    """A generator's frames (``first`` already received) as they came, under the model name
    the client asked for; the frame that finishes the answer is decoded to add the citations
    (and ``final``'s fields: the experiment arm); the usage frame only when asked for."""
    upstream, client = (f'"model":{json.dumps(m, ensure_ascii=False)}' for m in (out.model, model))

    def passed(item: str) -> str | None:
        if FINISHED in item:
            chunk = decoded(item) | {"model": model}
            chunk["sources"] = [p.citation() for p in out.passages]
            return frame(chunk | (final or {}), (",", ":"))
        if NO_CHOICES in item and not include_usage:
            return None
        return item.replace(upstream, client, 1)

    try:
        if (sent := passed(first)) is not None:
            yield sent
        async for item in frames:
            if (sent := passed(item)) is not None:
                yield sent
    except Exception as exc:
        yield frame(error_body(on_error(exc), "generator_error"))
        return
    finally:
        await frames.aclose()
    on_done()
    yield DONE


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
