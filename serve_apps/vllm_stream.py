"""vLLM's streamed chat completion, as LLMServer's handle yields it, relayed as typed events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

from serve_apps.stream_events import (
    Finish,
    GenerationError,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    Usage,
)


class VLLMStream:
    """Each ``data: …\\n\\n`` frame (``chat.completion.chunk``, vLLM's compact JSON) decoded once
    into an event that keeps the frame for pass-through: a choice's text, tool-call pieces or
    finish; the usage frame. An error (a frame or an error object) raises ``GenerationError``;
    ``[DONE]`` and a frame with neither a choice nor usage are dropped (the ingress ends the
    stream itself)."""

    async def events(self, batches: AsyncIterable[Any]) -> AsyncIterator[StreamEvent]:
        """The events of LLMServer's stream: frames, or lists of frames (Serve batches a
        stream's items when they come faster than the caller reads)."""
        async for batch in batches:
            for item in batch if isinstance(batch, list) else [batch]:
                event = self.event(item)
                if event is not None:
                    yield event

    def event(self, item: Any) -> StreamEvent | None:
        if not isinstance(item, str):
            error = getattr(item, "error", None)
            if error is not None:
                raise GenerationError(error.message, int(getattr(error, "code", 400) or 400))
            raise GenerationError(f"unexpected generator output {type(item).__name__}", 502)
        payload = item.strip().removeprefix("data: ")
        if payload == "[DONE]" or not payload:
            return None
        chunk = json.loads(payload)
        if "error" in chunk:
            error = chunk["error"] if isinstance(chunk["error"], dict) else chunk
            raise GenerationError(error.get("message", "generation failed"))
        choices = chunk.get("choices") or []
        if not choices:
            usage = chunk.get("usage")
            if not usage:
                return None
            return Usage(usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0), item)
        deltas = [choice["delta"] for choice in choices]
        text = "".join(delta.get("content") or "" for delta in deltas)
        calls = tuple(call for delta in deltas for call in delta.get("tool_calls") or ())
        reason = next((c["finish_reason"] for c in choices if c.get("finish_reason")), None)
        if reason:
            return Finish(text, calls, item, reason)
        return (ToolCallDelta if calls else TextDelta)(text, calls, item)
