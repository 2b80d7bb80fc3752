"""What a generator's answer streams as: typed events, each keeping the upstream SSE frame it
came from (vLLM's, passed on as it is) or none (the extractive generator's text, framed by the
ingress). ``TextDelta``, ``ToolCallDelta`` and ``Finish`` are one frame's choice (its text and
tool-call pieces); ``Finish`` is the frame that ends the answer, with the reason; ``Usage`` the
token counts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ChoiceEvent:
    text: str = ""
    tool_calls: tuple[dict[str, Any], ...] = ()  # OpenAI's tool-call deltas, keyed by "index"
    frame: str | None = None  # the upstream frame, byte for byte; None: the ingress frames it


@dataclass(frozen=True, slots=True)
class TextDelta(ChoiceEvent):
    """A piece of the answer's text (the first one also opens the assistant's message)."""


@dataclass(frozen=True, slots=True)
class ToolCallDelta(ChoiceEvent):
    """Pieces of tool calls: the first names the call (id, name), the arguments follow."""


@dataclass(frozen=True, slots=True)
class Finish(ChoiceEvent):
    """The frame that ends the answer: "stop", "length" (max_tokens) or "tool_calls"."""

    reason: str = "stop"


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    frame: str | None = None


StreamEvent = TextDelta | ToolCallDelta | Finish | Usage


class GenerationError(RuntimeError):
    """The generator refused the request, before or while it streams (its message is safe to
    show the client)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def answer_of(events: Iterable[StreamEvent]) -> tuple[str, str, list[dict[str, Any]]]:
    """The answer the events hold (a non-streamed request): its text, its finish reason ("stop"
    when none came) and its tool calls, reassembled from their deltas as OpenAI's clients do."""
    parts, reason = [], "stop"
    calls: dict[int, dict[str, Any]] = {}
    for event in events:
        if isinstance(event, Usage):
            continue
        parts.append(event.text)
        for delta in event.tool_calls:
            add_tool_call_delta(calls, delta)
        if isinstance(event, Finish):
            reason = event.reason
    return "".join(parts), reason, [calls[i] for i in sorted(calls)]


def add_tool_call_delta(calls: dict[int, dict[str, Any]], delta: dict[str, Any]) -> None:
    """One streamed tool-call delta added to the calls so far (keyed by the delta's index):
    id and name as they come, arguments appended."""
    call = calls.setdefault(
        delta.get("index", 0),
        {"id": "", "type": "function", "function": {"name": "", "arguments": ""}},
    )
    call["id"] = delta.get("id") or call["id"]
    function = delta.get("function") or {}
    call["function"]["name"] += function.get("name") or ""
    call["function"]["arguments"] += function.get("arguments") or ""
