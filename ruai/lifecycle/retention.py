"""Retention: the query log and the answer records keep what the settings allow, no more.

``apply_retention`` deletes
- query-log rows older than ``query_log_retention_days``: PostgreSQL rows by their ``ts``;
  Parquet files whole, once every row in them is older (a file under a ``date=YYYY-MM-DD``
  partition is bounded by its day, any other by its newest ``ts``), so a row outlives the cutoff
  by at most a day. Partition directories it empties go too (no other);
- answer records (the ``responses`` /v1/feedback checks votes against) older than
  ``answer_retention_days`` that got no feedback. Feedback and the answers it rates stay: they
  are the labels the monitoring and retraining read;
- chat conversations nobody wrote to for ``conversation_retention_days`` (off by default), with
  their messages.

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
    conversation_cutoff: str | None = None
    conversations: int = 0

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
        conversations = (
            f"conversations idle since before {self.conversation_cutoff}: "
            f"{self.conversations} deleted"
            if self.conversation_cutoff
            else "conversations: kept"
        )
        return f"{log}; {answers}; {conversations}"


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
    emptied: set[Path] = set()
    for path in sorted(root.rglob("*.parquet")):
        bound = _newest_bound(path)
        if bound is None or bound > cutoff:
            continue
        rows += pq.ParquetFile(path).metadata.num_rows
        path.unlink()
        files += 1
        emptied.update(p for p in path.parents if p.is_relative_to(root) and p != root)
    # only folders it emptied: a writer may have just made today's, to write into it next
    for folder in sorted(emptied, key=lambda p: len(p.parts), reverse=True):
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


def _cutoff(now: datetime, days: int | None) -> datetime | None:
    return None if days is None else now - timedelta(days=days)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def apply_retention(settings: Settings, now: datetime | None = None) -> RetentionReport:
    from ruai.conversations.store import ConversationStore

    now = now or datetime.now(UTC)
    log_cutoff = _cutoff(now, settings.query_log_retention_days)
    answer_cutoff = _cutoff(now, settings.answer_retention_days)
    conversation_cutoff = _cutoff(now, settings.conversation_retention_days)
    files = rows = answers = conversations = 0
    if log_cutoff is not None:
        if settings.query_log_dsn:
            rows = prune_query_log_table(settings.query_log_dsn, log_cutoff)
        else:
            files, rows = prune_query_log_files(settings.query_log_dir, log_cutoff)
    if answer_cutoff is not None or conversation_cutoff is not None:
        store = ConversationStore.from_settings(settings)
        try:
            if answer_cutoff is not None:
                answers = store.prune_answers(answer_cutoff.timestamp())
            if conversation_cutoff is not None:
                conversations = store.prune_conversations(conversation_cutoff.timestamp())
        finally:
            store.close()
    return RetentionReport(
        _iso(log_cutoff), rows, files, _iso(answer_cutoff), answers,
        _iso(conversation_cutoff), conversations,
    )  # fmt: skip
