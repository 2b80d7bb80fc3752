"""The audit trail read back from the query log: who saw a document, what a user saw.

Every answered request's record names its caller (subject, groups, token or which API key), the
documents retrieved for it and those its answer showed as sources (ruai/lifecycle/query_log.py).
A document is named by its source (a path or URI, as ingested) or the end of one (its file
name); a user by subject or by API key id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa


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
