"""Retention: the query log and the answer records keep what the settings allow, no more.

``apply_retention`` deletes
- query-log rows older than ``query_log_retention_days``: PostgreSQL rows by their ``ts``;
  Parquet files whole, once every row in them is older (a file under a ``date=YYYY-MM-DD``
  partition is bounded by its day, any other by its newest ``ts``), so a row outlives the cutoff
  by at most a day. Partition directories left empty go too;
- answer records (the ``responses`` /v1/feedback checks votes against) older than
  ``answer_retention_days`` that got no feedback. Feedback and the answers it rates stay: they
  are the labels the monitoring and retraining read.

``jobs.monitor`` applies it after each run, so the nightly CronJob enforces it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from ruai.lifecycle.query_log_writers import TABLE
from ruai.settings import Settings

_PARTITION = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class RetentionReport:
    query_log_cutoff: str | None  # ISO time, None when the log is kept whole
    query_log_rows: int
    query_log_files: int
    answer_cutoff: str | None
    answers: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def summary(self) -> str:
        log = (
            f"query log: {self.query_log_rows} rows older than {self.query_log_cutoff} deleted"
            + (f" ({self.query_log_files} files)" if self.query_log_files else "")
            if self.query_log_cutoff
            else "query log: kept whole (no retention set)"
        )
        answers = (
            f"answers without feedback: {self.answers} older than {self.answer_cutoff} deleted"
            if self.answer_cutoff
            else "answers: kept whole (no retention set)"
        )
        return f"{log}; {answers}"


def _newest_bound(path: Path) -> datetime | None:
    """A time no row of the file reaches: its partition's next midnight, else its newest ts."""
    for folder in path.parents:
        match = _PARTITION.match(folder.name)
        if match:
            return datetime.fromisoformat(match[1]).replace(tzinfo=UTC) + timedelta(days=1)
    newest = pc.max(pq.read_table(path, columns=["ts"])["ts"]).as_py()
    return None if newest is None else newest + timedelta(milliseconds=1)


def prune_query_log_files(root: Path, cutoff: datetime) -> tuple[int, int]:
    """Delete the Parquet files under ``root`` whose rows are all older than ``cutoff``;
    return (files, rows) deleted."""
    root = Path(root)
    if not root.is_dir():
        return 0, 0
    files = rows = 0
    for path in sorted(root.rglob("*.parquet")):
        bound = _newest_bound(path)
        if bound is None or bound > cutoff:
            continue
        rows += pq.ParquetFile(path).metadata.num_rows
        path.unlink()
        files += 1
    for folder in sorted((p for p in root.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    return files, rows


def prune_query_log_table(dsn: str, cutoff: datetime) -> int:
    """Delete the PostgreSQL sink's rows older than ``cutoff``; return how many."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as connection:
        if connection.execute("SELECT to_regclass(%s)", (TABLE,)).fetchone()[0] is None:
            return 0
        return connection.execute(f"DELETE FROM {TABLE} WHERE ts < %s", (cutoff,)).rowcount


def apply_retention(settings: Settings, now: datetime | None = None) -> RetentionReport:
    from ruai.conversations.store import ConversationStore

    now = now or datetime.now(UTC)
    log_cutoff = answer_cutoff = None
    files = rows = answers = 0
    if settings.query_log_retention_days is not None:
        log_cutoff = now - timedelta(days=settings.query_log_retention_days)
        if settings.query_log_dsn:
            rows = prune_query_log_table(settings.query_log_dsn, log_cutoff)
        else:
            files, rows = prune_query_log_files(settings.query_log_dir, log_cutoff)
    if settings.answer_retention_days is not None:
        answer_cutoff = now - timedelta(days=settings.answer_retention_days)
        store = ConversationStore.from_settings(settings)
        try:
            answers = store.prune_answers(answer_cutoff.timestamp())
        finally:
            store.close()
    return RetentionReport(
        log_cutoff.isoformat() if log_cutoff else None, rows, files,
        answer_cutoff.isoformat() if answer_cutoff else None, answers,
    )  # fmt: skip
