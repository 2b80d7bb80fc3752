"""Where the query log's batches go: Parquet files partitioned by date, or a PostgreSQL table.

Parquet: ``<dir>/date=YYYY-MM-DD/<UTC time>-<replica>-<seq>.parquet``, written to a hidden
temporary name and renamed, so a reader (``ray.data.read_parquet(dir)``, ``pyarrow.dataset``)
never sees half a file and two replicas never write the same name. The ``date`` directory is a
Hive partition: readers get it as an extra ``date`` column and can prune by it.

PostgreSQL: table ``query_log`` with the columns of ``ruai.lifecycle.query_log.SCHEMA`` (created
if missing), one multi-row insert per batch.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ruai.lifecycle.audit_chain import AuditChain, Link
from ruai.lifecycle.query_log import (
    CHAIN_COLUMNS,
    LIST_COLUMNS,
    SCHEMA,
    QueryRecord,
    records_to_table,
)

TABLE = "query_log"
_PG_TYPES = {
    "ts": "TIMESTAMPTZ NOT NULL",
    "chunk_ids": "TEXT[]",
    "scores": "REAL[]",
    "latency_ms": "REAL NOT NULL",
    "status": "SMALLINT NOT NULL",
    "ttft_ms": "REAL",
    "seq": "BIGINT",
    "groups": "TEXT[]",
    "sources": "TEXT[]",
    "cited": "TEXT[]",
    "agent_step": "INTEGER",
    "result_chars": "BIGINT",
    "prompt_tokens": "INTEGER",
    "completion_tokens": "INTEGER",
}


def _pg_type(column: pa.Field) -> str:
    return _PG_TYPES.get(column.name, "TEXT" + ("" if column.nullable else " NOT NULL"))


CREATE_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    + ", ".join(f"{f.name} {_pg_type(f)}" for f in SCHEMA)
    + ")"
)
# a table created by an older release lacks the columns added since (all nullable)
ADD_NEW_COLUMNS = f"ALTER TABLE {TABLE} " + ", ".join(
    f"ADD COLUMN IF NOT EXISTS {f.name} {_pg_type(f)}" for f in SCHEMA if f.nullable
)
CREATE_INDEX = f"CREATE INDEX IF NOT EXISTS {TABLE}_ts ON {TABLE} (ts)"


def partition_dir(root: Path, ts_ms: int) -> Path:
    day = datetime.fromtimestamp(ts_ms / 1000, UTC).strftime("%Y-%m-%d")
    return root / f"date={day}"


class ParquetWriter:
    """One file per batch and day; ``replica`` (made file-name safe) keeps replicas apart."""

    def __init__(self, root: Path, replica: str) -> None:
        self.root = Path(root)
        self.replica = re.sub(r"[^A-Za-z0-9_.-]+", "_", replica) or "replica"
        self._seq = itertools.count()
        self.chain = AuditChain(f"{self.replica}-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}")

    def __call__(self, records: Sequence[QueryRecord]) -> None:
        links, state = self.chain.link(records)
        by_day: dict[Path, tuple[list[QueryRecord], list[Link]]] = {}
        for record, link in zip(records, links, strict=True):
            rows, row_links = by_day.setdefault(partition_dir(self.root, record.ts_ms), ([], []))
            rows.append(record)
            row_links.append(link)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        for folder, (rows, row_links) in by_day.items():
            folder.mkdir(parents=True, exist_ok=True)
            name = f"{stamp}-{self.replica}-{next(self._seq):06d}.parquet"
            temporary = folder / f".{name}.tmp"
            try:
                pq.write_table(records_to_table(rows, row_links), temporary)
                temporary.rename(folder / name)
            finally:
                temporary.unlink(missing_ok=True)
        self.chain.advance(state)


class PostgresWriter:
    """A lazily (re)opened psycopg 3 connection; a failed batch drops the connection so the next
    one reconnects (a restarted server comes back on its own)."""

    def __init__(self, dsn: str, connect_timeout_s: int = 5, replica: str = "replica") -> None:
        self.chain = AuditChain(f"{replica}-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}")
        self.dsn = dsn
        self.connect_timeout_s = connect_timeout_s
        self._connection: Any = None

    def _connected(self) -> Any:
        if self._connection is None:
            import psycopg

            connection = psycopg.connect(
                self.dsn, autocommit=True, connect_timeout=self.connect_timeout_s
            )
            connection.execute(CREATE_TABLE)
            connection.execute(ADD_NEW_COLUMNS)
            connection.execute(CREATE_INDEX)
            self._connection = connection
        return self._connection

    def __call__(self, records: Sequence[QueryRecord]) -> None:
        columns = SCHEMA.names
        links, state = self.chain.link(records)
        rows = [_pg_row(record, link) for record, link in zip(records, links, strict=True)]
        placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
        sql = f"INSERT INTO {TABLE} ({', '.join(columns)}) VALUES " + ", ".join(
            [placeholders] * len(rows)
        )
        try:
            connection = self._connected()
            with connection.transaction():
                connection.execute(sql, [value for row in rows for value in row])
        except Exception:
            self.close()
            raise
        self.chain.advance(state)

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()


def _pg_row(record: QueryRecord, link: Link) -> tuple:
    values = {
        name: getattr(record, name)
        for name in SCHEMA.names
        if name != "ts" and name not in CHAIN_COLUMNS
    }
    values |= {name: getattr(link, name) for name in CHAIN_COLUMNS}
    values["ts"] = datetime.fromtimestamp(record.ts_ms / 1000, UTC)
    for name in LIST_COLUMNS:
        values[name] = list(values[name])
    return tuple(values[name] for name in SCHEMA.names)
