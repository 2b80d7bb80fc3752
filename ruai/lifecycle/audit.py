"""The audit trail read back from the query log: who saw a document, what a user saw (and
which steps their agents took, which tools they called over MCP).

Every answered request's record names its caller (subject, groups, token or which API key), the
documents retrieved for it and those its answer showed as sources (ruai/lifecycle/query_log.py).
A document is named by its source (a path or URI, as ingested) or the end of one (its file
name); a user by subject or by API key id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

from ruai.lifecycle.query_log import AGENT_COLUMNS


@dataclass(frozen=True, slots=True)
class AuditEntry:
    ts: datetime
    tenant: str
    subject: str | None
    auth: str | None
    key_id: str | None
    groups: list[str]
    endpoint: str
    status: int
    question: str | None  # None where the tenant logs only its hash
    question_sha256: str
    retrieved: list[str]  # sources of the retrieved chunks
    cited: list[str]  # sources the answer showed
    latency_ms: float = 0.0
    # an agent's step or an MCP tool call (ruai.lifecycle.query_log.AGENT_COLUMNS), else {}
    agent: dict[str, Any] = field(default_factory=dict)

    def action(self) -> str:
        """An agent step or tool call in a line: ``agent 1a2b3c4d step 2: search_documents
        {"query": …} → 1234 chars``; "" for a plain request."""
        if not self.agent:
            return ""
        a = self.agent
        where = f"agent {a['agent_run'][:8]} step {a['agent_step']}: " if a.get("agent_run") else ""
        if a.get("tool") is None:
            return f"{where}model, {a.get('prompt_tokens')}+{a.get('completion_tokens')} tokens"
        done = f"error {a['error']}" if a.get("error") else f"{a.get('result_chars')} chars"
        arguments = a.get("tool_arguments")
        return f"{where}{a['tool']} {arguments if arguments is not None else '…'} → {done}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ts": self.ts.isoformat(),
            "tenant": self.tenant,
            "subject": self.subject,
            "auth": self.auth,
            "key_id": self.key_id,
            "groups": self.groups,
            "endpoint": self.endpoint,
            "status": self.status,
            "question": self.question,
            "question_sha256": self.question_sha256,
            "retrieved": self.retrieved,
            "cited": self.cited,
            "latency_ms": self.latency_ms,
            **self.agent,
        }


def _names(source: str, document: str) -> bool:
    return source == document or source.endswith("/" + document.lstrip("/"))


def _entry(row: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        ts=row["ts"],
        tenant=row["tenant"],
        subject=row.get("subject"),
        auth=row.get("auth"),
        key_id=row.get("key_id"),
        groups=list(row.get("groups") or []),
        endpoint=row["endpoint"],
        status=row["status"],
        question=row.get("question"),
        question_sha256=row["question_sha256"],
        retrieved=list(row.get("sources") or []),
        cited=list(row.get("cited") or []),
        latency_ms=row.get("latency_ms") or 0.0,
        agent={name: row.get(name) for name in AGENT_COLUMNS}
        if row.get("tool") or row.get("agent_run")
        else {},
    )


def who_saw(log: pa.Table, document: str) -> list[AuditEntry]:
    """The requests that retrieved the document (a source or its file name), oldest first."""
    return [
        _entry(row)
        for row in log.to_pylist()
        if any(_names(source, document) for source in row.get("sources") or [])
    ]


def what_user_saw(log: pa.Table, user: str) -> list[AuditEntry]:
    """The requests of a subject (or of an API key, by its id), oldest first."""
    return [
        _entry(row) for row in log.to_pylist() if user in (row.get("subject"), row.get("key_id"))
    ]
