"""The ingress's query log and answer records, off the request path.

An endpoint ``note``s what it knows about the request (tenant, question, retrieved hits, model
versions) on the request's context (``RequestContext.log``); the ingress middleware calls
``QueryLogging.observe`` with the
final status and latency, which turns the note into a ``QueryRecord`` and hands it to the
replica's sink (``ruai.lifecycle.query_log_sink``). ``answered`` queues the response id, the
tenant, whose answer it is (``owner_id``: the subject or the API key) and what answered (A/B
arm, model versions) for the conversation store's ``responses`` table, which /v1/feedback checks
and counts per arm. Neither waits for a disk or a database: a sink that is slow, stalled or
dead costs rows, counted in ``ruai_query_log_dropped``.

The A/B arm is read from the context's ``experiment`` / ``arm``, set by whoever assigns arms
before the endpoint runs.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import Request
from ray.util.metrics import Counter

from ruai.conversations import AnswerRecord, ConversationStore, owner_id
from ruai.identity import Principal
from ruai.lifecycle.query_log import QueryRecord
from ruai.lifecycle.query_log_sink import BatchingSink, query_log_sink
from ruai.settings import Settings
from ruai.store.base import Hit
from serve_apps.metrics import endpoint_label
from serve_apps.request_context import request_context

logger = logging.getLogger("ray.serve")
RECORD_ERROR = "record_error"  # building the record failed (a bug): counted, never raised


def note(request: Request, **fields: Any) -> None:
    """Add ``fields`` (tenant, principal, question, hits, cited passages, collection, adapter,
    llm_model, dense_model, response_id, ttft_ms; an MCP tool call's tool, tool_arguments,
    result_chars, error) to this request's query-log entry; later notes win."""
    request_context(request).note(**fields)


def _who(principal: Principal | None) -> dict[str, Any]:
    """The audit record's caller: subject, groups, how authenticated (and which key)."""
    if principal is None:
        return {}
    return {
        "subject": principal.subject,
        "groups": tuple(principal.groups) + tuple(f"role:{r}" for r in principal.roles),
        "auth": str(principal.auth),
        "key_id": principal.key_id or None,
    }


def _distinct(sources: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(source for source in sources if source))


def _replica_id() -> str:
    try:
        from ray import serve

        tag = serve.get_replica_context().replica_tag
    except Exception:  # outside a replica (benchmarks, tests)
        tag = str(os.getpid())
    return f"{socket.gethostname()}-{tag}"


class QueryLogging:
    """One per ingress replica (Ray metrics must be built inside the worker)."""

    def __init__(
        self, settings: Settings, store_opener: Callable[[Settings], ConversationStore]
    ) -> None:
        self.settings = settings
        self.dropped = Counter(
            "ruai_query_log_dropped", "query-log rows lost (sink slow, stalled or failing)",
            tag_keys=("reason",),
        )  # fmt: skip
        self.feedback = Counter(
            "ruai_feedback", "feedback votes by A/B arm and rating (1 / -1)",
            tag_keys=("arm", "rating"),
        )  # fmt: skip
        self.hash_only = frozenset(settings.query_log_hash_only_tenants)
        # the LLM that answers chat requests (an arm's own LLM or adapter is noted per request)
        self.llm_model = settings.llm_model if settings.generator == "vllm" else settings.generator
        self.sink: BatchingSink[QueryRecord] | None = (
            query_log_sink(settings, _replica_id(), self._count_drop)
            if settings.query_log_enabled
            else None
        )
        self._store_opener = store_opener
        self._pending: set[str] = set()  # queued answer ids, not yet in the store
        self._pending_lock = threading.Lock()
        self.answers_dropped = Counter(
            "ruai_answer_records_dropped",
            "answer records (what /v1/feedback rates) never written to the conversation store",
            tag_keys=("reason",),
        )  # fmt: skip
        self.answers: BatchingSink[AnswerRecord] = BatchingSink(
            self._write_answers, name="answers", queue_size=settings.query_log_queue_size,
            batch_rows=256, flush_s=0.05, retry_s=settings.query_log_retry_s,
            on_drop=lambda reason, count: self.answers_dropped.inc(count, tags={"reason": reason}),
            on_lost=self._forget,
        )  # fmt: skip

    def _count_drop(self, reason: str, count: int) -> None:
        self.dropped.inc(count, tags={"reason": reason})

    # --- the query log ------------------------------------------------------------------

    def observe(self, request: Request, status: int, elapsed_ms: float) -> None:
        """Log the request if an endpoint noted it; never raises."""
        entry = request_context(request).log
        if entry is None or self.sink is None:
            return
        try:
            self.sink.submit(self.record(request, entry, status, elapsed_ms))
        except Exception:
            logger.exception("query log: could not build the record")
            self.sink.count_drop(RECORD_ERROR, 1)

    def record(
        self, request: Request, entry: dict[str, Any], status: int, elapsed_ms: float
    ) -> QueryRecord:
        hits: Sequence[Hit] = entry.get("hits") or ()
        tenant = entry["tenant"]
        principal: Principal | None = entry.get("principal")
        return QueryRecord.of(
            entry.get("question") or "",
            keep_text=tenant not in self.hash_only,
            max_chars=self.settings.max_question_chars,
            ts_ms=int(time.time() * 1000 - elapsed_ms),
            tenant=tenant,
            endpoint=endpoint_label(request.scope),
            latency_ms=elapsed_ms,
            status=status,
            **self._labels(request, entry),
            chunk_ids=tuple(hit.id for hit in hits),
            scores=tuple(float(hit.score) for hit in hits),
            response_id=entry.get("response_id"),
            ttft_ms=entry.get("ttft_ms"),
            **_who(principal),
            sources=_distinct(str(hit.payload.get("source", "")) for hit in hits),
            cited=_distinct(p.source for p in entry.get("cited") or ()),
            # an MCP tool call's
            tool=entry.get("tool"),
            tool_arguments=entry.get("tool_arguments") if tenant not in self.hash_only else None,
            result_chars=entry.get("result_chars"),
            error=entry.get("error"),
        )

    def _labels(self, request: Request, entry: dict[str, Any]) -> dict[str, str | None]:
        """What answered: the A/B arm and the model versions (ANSWER_LABELS)."""
        context = request_context(request)
        return {
            "experiment": context.experiment,
            "arm": context.arm,
            "llm_model": entry.get("llm_model"),
            "adapter": entry.get("adapter"),
            "dense_model": entry.get("dense_model", self.settings.dense_model),
            "collection": entry.get("collection"),
        }

    # --- answers, for /v1/feedback ------------------------------------------------------

    def answered(self, request: Request, response_id: str) -> None:
        """Note the response id and queue the answer record (tenant, owner, arm, model
        versions)."""
        context = request_context(request)
        context.note(response_id=response_id)
        entry = context.log
        owner = owner_id(entry.get("principal") or context.principal, context.credential)
        answer = AnswerRecord(response_id, entry["tenant"], **self._labels(request, entry),
                              owner=owner)  # fmt: skip
        with self._pending_lock:
            self._pending.add(response_id)
        if not self.answers.submit(answer):
            self._forget([answer])
            logger.warning("answer %s not recorded for feedback: queue full", response_id)

    def _write_answers(self, answers: Sequence[AnswerRecord]) -> None:
        self._store_opener(self.settings).record_answers(answers)
        self._forget(answers)

    def _forget(self, answers: Sequence[AnswerRecord]) -> None:
        with self._pending_lock:
            self._pending.difference_update(a.response_id for a in answers)

    def settle(self, response_id: str, timeout_s: float = 5.0) -> None:
        """Wait (blocking: call off the event loop) until a queued answer is in the store, so
        feedback right after an answer finds it."""
        if response_id in self._pending:
            self.answers.flush(timeout_s)

    def count_feedback(self, answer: AnswerRecord, rating: int) -> None:
        self.feedback.inc(tags={"arm": answer.arm or "none", "rating": str(rating)})

    def close(self) -> None:
        for sink in (self.sink, self.answers):
            if sink is not None:
                sink.close(timeout_s=5.0)
