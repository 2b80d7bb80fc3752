"""The agent loop: the model is called with the tools; the tools it calls run and their results
go back to it, until it answers without calling one, its step budget (model calls) or its time
budget runs out. Every step is recorded: the model's tokens, each tool's name, arguments,
result size and error; ``on_step`` writes each finished step to the audit trail (the platform's
``/v1/agent/steps``, ruai/agents/http_platform.py) before the next one starts."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ruai.agents.chat_model import ChatModel, ModelError
from ruai.agents.tools import Tool

Status = Literal["answered", "step_budget", "time_budget", "failed"]


@dataclass(frozen=True, slots=True)
class Budget:
    max_steps: int = 6  # model calls
    max_seconds: float = 300.0


@dataclass(slots=True)
class ToolCallRecord:
    tool: str
    arguments: str  # as the model wrote them
    result_chars: int = 0
    error: str | None = None
    elapsed_ms: float = 0.0


@dataclass(slots=True)
class Step:
    n: int
    prompt_tokens: int = 0
    completion_tokens: int = 0
    elapsed_ms: float = 0.0
    calls: list[ToolCallRecord] = field(default_factory=list)


@dataclass(slots=True)
class AgentRun:
    status: Status
    task: str = ""
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    answer: str = ""
    citations: list[dict[str, Any]] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    error: str | None = None

    @property
    def tokens(self) -> int:
        return sum(s.prompt_tokens + s.completion_tokens for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"tokens": self.tokens}


# sees each finished step of a run (the audit trail, a progress display); what it raises ends
# the run (a step that cannot be recorded is not followed by another)
StepObserver = Callable[["AgentRun", Step], Awaitable[None]]


class Agent:
    """``run(task)`` answers one task with ``model`` and ``tools`` within ``budget``;
    ``on_step`` sees each finished step."""

    def __init__(
        self,
        model: ChatModel,
        tools: list[Tool],
        budget: Budget | None = None,
        system_prompt: str | None = None,
        tool_choice: Any = "auto",
        on_step: StepObserver | None = None,
    ) -> None:
        self.model = model
        self.tools = {tool.name: tool for tool in tools}
        self.specs = [tool.openai_spec() for tool in tools]
        self.budget = budget or Budget()
        self.system_prompt = system_prompt
        self.tool_choice = tool_choice
        self.on_step = on_step

    async def run(self, task: str) -> AgentRun:
        messages: list[dict[str, Any]] = []
        if self.system_prompt:
            messages.append({"role": "system", "content": self.system_prompt})
        messages.append({"role": "user", "content": task})
        run = AgentRun(status="step_budget", task=task)
        try:
            async with asyncio.timeout(self.budget.max_seconds):
                await self._steps(messages, run)
        except TimeoutError:
            run.status = "time_budget"
        except ModelError as exc:
            run.status, run.error = "failed", str(exc)
        run.citations = _unique(run.citations)
        return run

    async def _steps(self, messages: list[dict[str, Any]], run: AgentRun) -> None:
        for n in range(1, self.budget.max_steps + 1):
            started = time.perf_counter()
            reply = await self.model.complete(messages, self.specs, self.tool_choice)
            step = Step(n, reply.prompt_tokens, reply.completion_tokens)
            run.steps.append(step)
            run.citations += reply.sources
            if not reply.tool_calls:
                run.status, run.answer = "answered", reply.content
                await self._finished(run, step, started)
                return
            messages.append(reply.message())
            for call in reply.tool_calls:
                messages.append(await self._tool_result(call, step, run))
            await self._finished(run, step, started)

    async def _finished(self, run: AgentRun, step: Step, started: float) -> None:
        step.elapsed_ms = (time.perf_counter() - started) * 1000
        if self.on_step is not None:
            await self.on_step(run, step)

    async def _tool_result(self, call: dict[str, Any], step: Step, run: AgentRun) -> dict:
        """The tool message answering ``call``; a failing tool's error goes back to the model
        as its result (the model may correct its arguments), recorded on the step."""
        function = call.get("function") or {}
        record = ToolCallRecord(str(function.get("name")), str(function.get("arguments", "")))
        step.calls.append(record)
        started = time.perf_counter()
        tool = self.tools.get(record.tool)
        try:
            if tool is None:
                raise LookupError(f"no tool {record.tool!r}; tools: {sorted(self.tools)}")
            result = await tool.call(record.arguments)
            run.citations += _citations(result)
        except Exception as exc:  # noqa: BLE001 - any tool failure is the model's to handle
            record.error = f"{type(exc).__name__}: {exc}"
            result = {"error": record.error}
        content = json.dumps(result, ensure_ascii=False)
        record.result_chars = len(content)
        record.elapsed_ms = (time.perf_counter() - started) * 1000
        return {"role": "tool", "tool_call_id": call.get("id", ""), "content": content}


def _citations(result: Any) -> list[dict[str, Any]]:
    """The documents a tool's result refers to (search hits, an answer's sources)."""
    if not isinstance(result, dict):
        return []
    found = list(result.get("hits") or []) + list(result.get("sources") or [])
    return [item for item in found if isinstance(item, dict) and item.get("source")]


def _unique(citations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One citation per chunk (or per source without a chunk), first seen first, no text."""
    seen, kept = set(), []
    for item in citations:
        key = (item.get("source"), item.get("chunk_id"))
        if key not in seen:
            seen.add(key)
            kept.append({k: item[k] for k in ("source", "title", "page", "chunk_id", "score")
                         if k in item})  # fmt: skip
    return kept

