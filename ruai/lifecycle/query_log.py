"""The query log's record and its Arrow schema: one row per answered request.

The ingress writes these rows (batched Parquet files, or PostgreSQL); the monitoring job reads
them back with Ray Data or pyarrow. Both sides use this module, so the columns are defined once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import pyarrow as pa

SCHEMA = pa.schema(
    [
        pa.field("ts", pa.timestamp("ms", tz="UTC"), nullable=False),
        pa.field("tenant", pa.string(), nullable=False),
        pa.field("endpoint", pa.string(), nullable=False),
        pa.field("experiment", pa.string()),
        pa.field("arm", pa.string()),
        pa.field("llm_model", pa.string()),
        pa.field("adapter", pa.string()),
        pa.field("dense_model", pa.string()),
        pa.field("collection", pa.string()),
        # None when the tenant logs only the question's hash
        pa.field("question", pa.string()),
        pa.field("question_sha256", pa.string(), nullable=False),
        pa.field("chunk_ids", pa.list_(pa.string())),
        pa.field("scores", pa.list_(pa.float32())),
        pa.field("response_id", pa.string()),
        pa.field("latency_ms", pa.float32(), nullable=False),
        pa.field("status", pa.int16(), nullable=False),
        # a streamed or non-streamed answer's first token (null for search); columns added
        # later go last and nullable: older Parquet files read them as null, and a PostgreSQL
        # table created before gets them added (query_log_writers)
        pa.field("ttft_ms", pa.float32()),
        # the audit trail (jobs.audit): who asked (the Principal's subject and groups, and how it
        # authenticated: "token", "api_key" with the key's id, a hash, or "local"), which
        # documents were retrieved and which the answer showed as its sources
        pa.field("subject", pa.string()),
        pa.field("groups", pa.list_(pa.string())),
        pa.field("auth", pa.string()),
        pa.field("key_id", pa.string()),
        pa.field("sources", pa.list_(pa.string())),
        pa.field("cited", pa.list_(pa.string())),
        # the writer's hash chain over the audit fields (ruai/lifecycle/audit_chain.py)
        pa.field("chain", pa.string()),
        pa.field("seq", pa.int64()),
        pa.field("prev_sha256", pa.string()),
        pa.field("sha256", pa.string()),
        # an agent's step (ruai/agents/loop.py; null on other rows): its run and step number,
        # and either the model call (its tokens) or one tool call (the tool, its arguments as
        # written, null where the tenant logs only hashes, the result's size, its error); an MCP
        # tool call fills the tool's columns only
        pa.field("agent_run", pa.string()),
        pa.field("agent_step", pa.int32()),
        pa.field("tool", pa.string()),
        pa.field("tool_arguments", pa.string()),
        pa.field("result_chars", pa.int64()),
        pa.field("prompt_tokens", pa.int32()),
        pa.field("completion_tokens", pa.int32()),
        pa.field("error", pa.string()),
    ]
)
AGENT_COLUMNS = (
    "agent_run", "agent_step", "tool", "tool_arguments", "result_chars", "prompt_tokens",
    "completion_tokens", "error",
)  # fmt: skip
CHAIN_COLUMNS = ("chain", "seq", "prev_sha256", "sha256")
# the list columns: tuples in a QueryRecord, lists in Arrow and PostgreSQL arrays
LIST_COLUMNS = ("chunk_ids", "scores", "groups", "sources", "cited")


def question_hash(question: str) -> str:
    # surrogatepass: a lone surrogate the API refused still hashes instead of failing the record
    return hashlib.sha256(question.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class QueryRecord:
    """One answered request. ``ts_ms``: Unix time in milliseconds."""

    ts_ms: int
    tenant: str
    endpoint: str
    question: str | None
    question_sha256: str
    latency_ms: float
    status: int
    experiment: str | None = None
    arm: str | None = None
    llm_model: str | None = None
    adapter: str | None = None
    dense_model: str | None = None
    collection: str | None = None
    chunk_ids: tuple[str, ...] = field(default_factory=tuple)
    scores: tuple[float, ...] = field(default_factory=tuple)
    response_id: str | None = None
    ttft_ms: float | None = None
    subject: str | None = None
    groups: tuple[str, ...] = field(default_factory=tuple)
    auth: str | None = None
    key_id: str | None = None
    sources: tuple[str, ...] = field(default_factory=tuple)
    cited: tuple[str, ...] = field(default_factory=tuple)
    agent_run: str | None = None
    agent_step: int | None = None
    tool: str | None = None
    tool_arguments: str | None = None
    result_chars: int | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    error: str | None = None

    @classmethod
    def of(
        cls, question: str, *, keep_text: bool = True, max_chars: int | None = None,
        **fields: object,
    ) -> QueryRecord:
        """A record for ``question``: its text only when ``keep_text`` (the tenant's setting),
        cut to ``max_chars`` (a refused, oversized question is not kept whole), its hash
        always."""
        return cls(
            question=question[:max_chars] if keep_text else None,
            question_sha256=question_hash(question),
            **fields,  # type: ignore[arg-type]
        )


def records_to_table(records: list[QueryRecord], links: list | None = None) -> pa.Table:
    """The rows of ``records``; ``links`` (ruai.lifecycle.audit_chain.Link, one per record)
    fill the chain columns, null without."""
    # getattr, not dataclasses.asdict: asdict deep-copies every field, and this runs on the
    # sink's thread beside the serving event loop
    columns = {
        name: [getattr(r, name) for r in records]
        for name in SCHEMA.names
        if name != "ts" and name not in CHAIN_COLUMNS
    }
    columns["ts"] = [r.ts_ms for r in records]
    for name in CHAIN_COLUMNS:
        columns[name] = [getattr(link, name) for link in links] if links else [None] * len(records)
    for name in LIST_COLUMNS:
        columns[name] = [list(v) for v in columns[name]]
    return pa.table({name: columns[name] for name in SCHEMA.names}, schema=SCHEMA)
