"""``POST /v1/agent/steps``: an agent's finished step into the audit trail, as the caller.

An agent that runs outside the application (``jobs.agent``, ruai/agents/loop.py) sends each step
here with the same key its tools use; the ingress writes it to the query log as rows of the
authenticated principal: one for the model call (its tokens) and one per tool call (the tool, its
arguments as the model wrote them, the result's size, its error), under the run's id and the
step's number, so that ``jobs.audit --user`` lists them beside the requests the tools made. The
rows are what the caller says its agent did, attributed to the caller and nobody else.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ruai.identity import Principal
from ruai.lifecycle.query_log import QueryRecord
from serve_apps.query_logging import _who
from serve_apps.request_context import Caller, Ingress

STEPS_PATH = "/v1/agent/steps"
router = APIRouter()


class ToolCallBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    tool: str = Field(min_length=1, max_length=200)
    arguments: str = ""
    result_chars: int = Field(0, ge=0)
    error: str | None = None
    elapsed_ms: float = Field(0.0, ge=0)


class StepBody(BaseModel):
    """A step as ``ruai.agents.loop.Step`` serializes it, with its run's id and task."""

    model_config = ConfigDict(extra="ignore")

    run_id: str = Field(min_length=1, max_length=64)
    task: str = ""
    n: int = Field(ge=1)
    prompt_tokens: int = Field(0, ge=0)
    completion_tokens: int = Field(0, ge=0)
    elapsed_ms: float = Field(0.0, ge=0)
    calls: list[ToolCallBody] = Field(default_factory=list, max_length=256)


def step_records(
    step: StepBody, principal: Principal, *, keep_text: bool, max_chars: int
) -> list[QueryRecord]:
    """The step's rows: the model call (its time without the tools'), then each tool call."""
    now_ms = int(time.time() * 1000)
    tools_ms = sum(call.elapsed_ms for call in step.calls)
    common: dict[str, Any] = {
        "keep_text": keep_text, "max_chars": max_chars, "tenant": principal.tenant,
        "endpoint": STEPS_PATH, "status": 200, "agent_run": step.run_id, "agent_step": step.n,
        **_who(principal),
    }  # fmt: skip
    model = QueryRecord.of(
        step.task, ts_ms=now_ms - int(step.elapsed_ms),
        latency_ms=max(0.0, step.elapsed_ms - tools_ms), prompt_tokens=step.prompt_tokens,
        completion_tokens=step.completion_tokens, **common,
    )  # fmt: skip
    calls = [
        QueryRecord.of(
            step.task,
            ts_ms=now_ms,
            latency_ms=call.elapsed_ms,
            tool=call.tool,
            tool_arguments=call.arguments[:max_chars] if keep_text else None,
            result_chars=call.result_chars,
            error=call.error,
            **common,
        )
        for call in step.calls
    ]
    return [model, *calls]


@router.post(STEPS_PATH)
async def record_step(body: StepBody, ingress: Ingress, principal: Caller) -> dict[str, Any]:
    query_log = ingress.query_log
    records = step_records(body, principal, keep_text=principal.tenant not in query_log.hash_only,
                           max_chars=ingress.settings.max_question_chars)  # fmt: skip
    sink = query_log.sink
    written = sum(sink.submit(record) for record in records) if sink is not None else 0
    return {"run_id": body.run_id, "step": body.n, "records": written}
