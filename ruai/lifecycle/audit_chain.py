"""A hash chain over the audit fields of the query log: each writer (one per replica process)
gives its rows a chain name, a sequence number and the SHA-256 of the row's audit fields
together with the previous row's hash. ``verify`` reads them back: an edited row no longer
matches its hash, a deleted one leaves a gap in its chain's sequence. The oldest rows of a chain
may be gone (retention deletes them): a chain is checked from its oldest remaining row on.

The chained fields are who asked, when, what (the question's hash), through which endpoint with
which status, and which chunks and documents were retrieved and shown, and an agent step's
columns where a row has them; latency and scores are left out (measurements, stored as
float32)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from ruai.lifecycle.query_log import AGENT_COLUMNS

CHAINED_FIELDS = (
    "ts", "tenant", "endpoint", "status", "question_sha256", "chunk_ids", "response_id",
    "subject", "groups", "auth", "key_id", "sources", "cited",
)  # fmt: skip
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LISTS = ("chunk_ids", "groups", "sources", "cited")


@dataclass(frozen=True, slots=True)
class Link:
    chain: str
    seq: int
    prev_sha256: str
    sha256: str


def digest(fields: dict[str, Any], prev_sha256: str) -> str:
    # an agent column counts where it is set: rows without one hash as they did before
    agent = {name: fields[name] for name in AGENT_COLUMNS if fields.get(name) is not None}
    canonical = json.dumps(
        {name: fields.get(name) for name in CHAINED_FIELDS} | agent,
        ensure_ascii=False, sort_keys=True, separators=(",", ":"),
    )  # fmt: skip
    return hashlib.sha256(f"{prev_sha256}\n{canonical}".encode()).hexdigest()


def _normalized(fields: dict[str, Any]) -> dict[str, Any]:
    out = {name: fields.get(name) for name in (*CHAINED_FIELDS, *AGENT_COLUMNS)}
    for name in _LISTS:
        out[name] = list(out[name] or [])
    if isinstance(out["ts"], datetime):
        out["ts"] = (out["ts"] - _EPOCH) // timedelta(milliseconds=1)
    return out


class AuditChain:
    """One writer's chain. ``link`` hashes a batch in order and returns the links with the
    chain's state after them; ``advance`` to that state once the batch is written (a batch that
    fails to be written leaves the chain where it was: no gap for rows never stored)."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
        self.state = (0, "")  # (next seq, previous row's hash)

    def link(self, records: Sequence[Any]) -> tuple[list[Link], tuple[int, str]]:
        seq, prev = self.state
        links = []
        for record in records:
            fields = _normalized({name: getattr(record, name, None)
                                  for name in (*CHAINED_FIELDS, *AGENT_COLUMNS)}
                                 | {"ts": record.ts_ms})  # fmt: skip
            sha = digest(fields, prev)
            links.append(Link(self.name, seq, prev, sha))
            seq, prev = seq + 1, sha
        return links, (seq, prev)

    def advance(self, state: tuple[int, str]) -> None:
        self.state = state


def verify(log: pa.Table) -> list[str]:
    """What is wrong with the chained rows of ``log`` (empty: nothing edited or deleted since
    each chain's oldest remaining row); rows written without a chain are not checked."""
    chains: dict[str, list[dict[str, Any]]] = {}
    for row in log.to_pylist():
        if row.get("chain"):
            chains.setdefault(row["chain"], []).append(row)
    problems = []
    for name, rows in sorted(chains.items()):
        rows.sort(key=lambda r: r["seq"])
        previous: dict[str, Any] | None = None
        for row in rows:
            where = f"chain {name} row {row['seq']} ({row['ts']:%Y-%m-%d %H:%M:%S})"
            if digest(_normalized(row), row["prev_sha256"] or "") != row["sha256"]:
                problems.append(f"{where}: edited (its fields no longer match its hash)")
            if previous is not None:
                if row["seq"] != previous["seq"] + 1:
                    missing = row["seq"] - previous["seq"] - 1
                    problems.append(f"{where}: {missing} row(s) before it deleted")
                elif row["prev_sha256"] != previous["sha256"]:
                    problems.append(f"{where}: the row before it was replaced")
            previous = row
    return problems
