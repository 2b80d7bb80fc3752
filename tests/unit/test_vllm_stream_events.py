"""vLLM's streamed frames as typed events (serve_apps/vllm_stream.py): each frame decoded once
into a text delta, tool-call delta, finish or usage event that keeps the frame byte for byte;
the answer they hold (a non-streamed request) reassembled from them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from serve_apps.stream_events import (
    Finish,
    GenerationError,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    Usage,
    answer_of,
)
from serve_apps.vllm_stream import VLLMStream
from tests.support.vllm_frames import CALLS, ERROR, UPSTREAM


def events_of(batches: list) -> list[StreamEvent]:
    async def stream() -> AsyncIterator:
        for batch in batches:
            yield batch

    async def collect() -> list[StreamEvent]:
        return [event async for event in VLLMStream().events(stream())]

    return asyncio.run(collect())


def test_an_answer_is_text_deltas_a_finish_and_the_usage() -> None:
    events = events_of(UPSTREAM)
    assert [type(e) for e in events] == [TextDelta, TextDelta, TextDelta, Finish, Usage]
    assert [e.frame for e in events] == UPSTREAM[:5]  # [DONE] dropped, the rest kept whole
    assert [e.text for e in events[:4]] == ["", 'Тесла "model":"tiny"', " умер в 1943", " [1]."]
    assert events[3].reason == "length"
    assert (events[4].prompt_tokens, events[4].completion_tokens) == (211, 12)
    assert answer_of(events) == ('Тесла "model":"tiny" умер в 1943 [1].', "length", [])
    assert answer_of(events[:2]) == ('Тесла "model":"tiny"', "stop", [])  # cut short: "stop"


def test_tool_call_deltas_keep_their_pieces_and_reassemble_to_the_calls() -> None:
    # Serve hands a stream's items over in lists when they come faster than they are read
    events = events_of([CALLS[0], CALLS[1:3], CALLS[3:]])
    assert [type(e) for e in events] == [TextDelta, ToolCallDelta, ToolCallDelta, ToolCallDelta,
                                         Finish, Usage]  # fmt: skip
    assert [e.frame for e in events] == CALLS[:6]
    named = events[1].tool_calls[0]
    assert (named["id"], named["function"]["name"]) == ("chatcmpl-tool-1", "search_documents")
    assert events[2].tool_calls[0]["function"]["arguments"] == '{"query": "Тесла'
    assert events[4].reason == "tool_calls" and events[4].tool_calls[0]["index"] == 1
    text, finish, calls = answer_of(events)
    assert (text, finish) == ("", "tool_calls")
    assert calls == [
        {"id": "chatcmpl-tool-1", "type": "function",
         "function": {"name": "search_documents", "arguments": '{"query": "Тесла"}'}},
        {"id": "chatcmpl-tool-2", "type": "function",
         "function": {"name": "list_collections", "arguments": "{}"}},
    ]  # fmt: skip
    assert json.loads(calls[0]["function"]["arguments"]) == {"query": "Тесла"}
    assert (events[5].prompt_tokens, events[5].completion_tokens) == (305, 36)


def test_an_error_frame_or_object_is_a_generation_error() -> None:
    with pytest.raises(GenerationError, match="boom") as raised:
        events_of([UPSTREAM[0], ERROR])
    assert raised.value.status == 400

    class ErrorResponse:  # what LLMServer yields instead of a frame when the engine refuses
        class error:
            message, code = "adapter qa-v9 not found", 404

    with pytest.raises(GenerationError, match="qa-v9") as raised:
        events_of([ErrorResponse()])
    assert raised.value.status == 404
