"""vLLM's SSE frames pass through the ingress as they came: byte-identical but for the model
name, the final frame with the citations, the usage frame only when asked; still well-formed
SSE. The extractive generator's text is framed by the ingress, in the same shape."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from ruai.llm.passages import Passage
from serve_apps import sse
from serve_apps.generation import Generation, GenerationError
from serve_apps.stream_events import Finish, StreamEvent, TextDelta, Usage
from serve_apps.vllm_stream import VLLMStream
from tests.support.vllm_frames import UPSTREAM

PASSAGE = Passage(1, "Никола Тесла умер в 1943 году.", "04-nikola-tesla.md", "c1", 0.9)


async def listed(items: list) -> AsyncIterator:
    for item in items:
        yield item


async def streamed(
    model: str, events: AsyncIterator[StreamEvent], out: Generation, include_usage: bool,
    cid: str = "chatcmpl-own",
) -> list[str]:
    first = await anext(events)
    stream = sse.chat_stream(cid, model, first, events, out, include_usage, lambda: None, str,
                             {"experiment": "canary", "arm": "wide"})  # fmt: skip
    return [data async for data in stream]


def relayed(model: str, include_usage: bool) -> list[str]:
    out = Generation(passages=[PASSAGE], model="tiny")
    events = VLLMStream().events(listed(UPSTREAM))
    return asyncio.run(streamed(model, events, out, include_usage))


def parsed(events: list[str]) -> list[dict | str]:
    """Each event a well-formed SSE ``data:`` line holding JSON (or [DONE])."""
    stream = "".join(events)
    assert stream.endswith("\n\n") and stream.count("\n\n") == len(events)
    blocks = stream.split("\n\n")[:-1]
    assert all(block.startswith("data: ") and "\n" not in block for block in blocks)
    return [b[6:] if b == "data: [DONE]" else json.loads(b[6:]) for b in blocks]


def test_a_plain_chat_stream_is_byte_identical_but_for_citations_on_its_last_frame() -> None:
    events = relayed("tiny", include_usage=True)
    assert events[:3] == UPSTREAM[:3]  # passed on as vLLM wrote them
    assert events[4] == UPSTREAM[4] and events[5] == sse.DONE
    final = parsed(events)[3]
    sources = {"sources": [PASSAGE.citation()], "experiment": "canary", "arm": "wide"}
    assert final == json.loads(UPSTREAM[3][6:]) | sources
    assert events[3].startswith('data: {"id":"chatcmpl-7f3a","object"')  # vLLM's compact JSON


@pytest.mark.parametrize("include_usage", [True, False])
def test_a_rag_stream_only_renames_the_model(include_usage: bool) -> None:
    events = relayed("rag-xquad_ru", include_usage)
    renamed = [u.replace('"model":"tiny"', '"model":"rag-xquad_ru"', 1) for u in UPSTREAM]
    assert events[:3] == renamed[:3]
    # the content that spells "model":"tiny" is escaped JSON and stays as it was
    assert '\\"model\\":\\"tiny\\"' in events[1]
    chunks = parsed(events)
    assert all(c["model"] == "rag-xquad_ru" for c in chunks if isinstance(c, dict))
    assert all(c["id"] == "chatcmpl-7f3a" for c in chunks if isinstance(c, dict))
    assert chunks[3]["choices"][0]["finish_reason"] == "length"
    assert chunks[3]["sources"] == [PASSAGE.citation()]
    assert (events[4] == renamed[4]) if include_usage else (events[4] == sse.DONE)
    assert events[-1] == sse.DONE and len(events) == (6 if include_usage else 5)


@pytest.mark.parametrize("include_usage", [True, False])
def test_text_without_frames_is_framed_by_the_ingress(include_usage: bool) -> None:
    """The extractive generator's events: the text opens the message, the final chunk has the
    citations, the usage chunk comes when asked."""
    out = Generation(passages=[PASSAGE], prompt_tokens=9, completion_tokens=4)
    answer = [TextDelta("Тесла умер в 1943 году."), Finish(), Usage(9, 4)]
    chunks = parsed(asyncio.run(streamed("rag-x", listed(answer), out, include_usage)))
    assert chunks[-1] == "[DONE]" and len(chunks) == (4 if include_usage else 3)
    opening, final = chunks[0], chunks[1]
    assert {c["id"] for c in chunks[:-1]} == {"chatcmpl-own"}
    assert opening["choices"] == [{"index": 0, "finish_reason": None,
                                   "delta": {"role": "assistant",
                                             "content": "Тесла умер в 1943 году."}}]  # fmt: skip
    assert final["choices"] == [{"index": 0, "delta": {}, "finish_reason": "stop"}]
    assert final["sources"] == [PASSAGE.citation()] and final["arm"] == "wide"
    if include_usage:
        assert chunks[2]["choices"] == [] and chunks[2]["usage"]["total_tokens"] == 13


def test_an_error_frame_raises_and_ends_the_stream_with_an_error_event() -> None:
    async def failing():
        yield UPSTREAM[0]
        yield UPSTREAM[1]
        raise GenerationError("boom")

    out = Generation(model="tiny")
    events = asyncio.run(streamed("tiny", VLLMStream().events(failing()), out, False))
    assert events[:2] == UPSTREAM[:2]
    assert parsed(events)[2]["error"]["message"] == "boom"
    assert sse.DONE not in events
