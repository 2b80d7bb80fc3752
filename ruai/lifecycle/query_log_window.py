"""A time window of the query log: ``24h`` / ``7d`` durations, and the log's rows in a window read
back from its Parquet files (any directory layout under the log dir, e.g. ``date=YYYY-MM-DD/``)
or from its PostgreSQL table, whichever the sink writes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from ruai.lifecycle.query_log import LIST_COLUMNS, SCHEMA
from ruai.lifecycle.query_log_writers import TABLE
from ruai.settings import Settings

_DURATION = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """``30m``, ``24h``, ``7d``, ``2w`` as a timedelta."""
    match = _DURATION.match(text.strip())
    if not match or int(match[1]) == 0:
        raise ValueError(f"{text!r} is not a duration: use <n>m, <n>h, <n>d or <n>w (e.g. 24h, 7d)")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime  # inclusive, UTC
    end: datetime  # exclusive, UTC

    @classmethod
    def ending(cls, end: datetime, length: timedelta) -> Window:
        return cls(end - length, end)

    def before(self, length: timedelta) -> Window:
        """The window of ``length`` that ends where this one starts (the reference)."""
        return Window(self.start - length, self.start)

    def label(self) -> str:
        return f"{self.start:%Y-%m-%dT%H:%M}..{self.end:%Y-%m-%dT%H:%M}Z"


def now_utc() -> datetime:
    return datetime.now(UTC)


def read_query_log(log_dir: Path, window: Window | None = None) -> pa.Table:
    """The log's rows (``SCHEMA``) with ``window.start <= ts < window.end``; every Parquet file
    under ``log_dir`` is read (partition directories add no columns). An empty or missing
    directory is an empty table."""
    files = (
        sorted(str(p) for p in Path(log_dir).rglob("*.parquet")) if Path(log_dir).is_dir() else []
    )
    if not files:
        return SCHEMA.empty_table()
    dataset = ds.dataset(files, format="parquet", schema=SCHEMA)
    condition = None
    if window is not None:
        ts = ds.field("ts")
        condition = (ts >= pa.scalar(window.start, SCHEMA.field("ts").type)) & (
            ts < pa.scalar(window.end, SCHEMA.field("ts").type)
        )
    table = dataset.to_table(filter=condition)
    return table.sort_by("ts") if table.num_rows else table


def read_query_log_table(dsn: str, window: Window | None = None) -> pa.Table:
    """The rows of the PostgreSQL sink's table in ``window`` (``SCHEMA``); a table nothing has
    written to yet is an empty log."""
    import psycopg

    where, params = ("", ()) if window is None else (
        " WHERE ts >= %s AND ts < %s", (window.start, window.end)
    )  # fmt: skip
    with psycopg.connect(dsn, connect_timeout=10) as connection:
        present = {row[0] for row in connection.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s", (TABLE,),
        ).fetchall()}  # fmt: skip
        if not present:  # no table yet
            return SCHEMA.empty_table()
        # a column added since the table was created, before any writer added it: null
        select = ", ".join(name if name in present else f"NULL AS {name}" for name in SCHEMA.names)
        sql = f"SELECT {select} FROM {TABLE}{where} ORDER BY ts"
        rows = connection.execute(sql, params).fetchall()
    columns = {name: [row[i] for row in rows] for i, name in enumerate(SCHEMA.names)}
    for name in LIST_COLUMNS:
        columns[name] = [list(v or []) for v in columns[name]]
    return pa.table(columns, schema=SCHEMA)


def read_window(settings: Settings, window: Window | None = None) -> pa.Table:
    """The log the ingress writes under these settings: PostgreSQL when RUAI_QUERY_LOG_DSN is
    set, else the Parquet files under RUAI_QUERY_LOG_DIR."""
    if settings.query_log_dsn:
        return read_query_log_table(settings.query_log_dsn, window)
    return read_query_log(settings.query_log_dir, window)
