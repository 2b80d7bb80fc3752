"""Retention on real storage: the sink's own Parquet files, a real PostgreSQL 15 query-log table
and the conversation store on SQLite and PostgreSQL. Old rows go, recent rows and rated answers
stay, and nothing goes when retention is off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ruai.conversations import (
    AnswerRecord,
    ConversationNotFoundError,
    ConversationStore,
    ResponseNotFoundError,
)
from ruai.lifecycle.query_log import QueryRecord, records_to_table
from ruai.lifecycle.query_log_window import read_query_log, read_query_log_table
from ruai.lifecycle.query_log_writers import ParquetWriter, PostgresWriter
from ruai.lifecycle.retention import apply_retention, prune_query_log_files
from ruai.settings import Settings
from tests.support.postgres_server import fresh_database

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # retention 90 days: cutoff 2026-09-03 12:00


def record(age: timedelta, i: int = 0) -> QueryRecord:
    return QueryRecord.of(
        f"Когда умер Тесла? {i}", ts_ms=int((NOW - age).timestamp() * 1000), tenant="acme",
        endpoint="/v1/search", latency_ms=5.0, status=200, response_id=f"r{age.days}-{i}",
    )  # fmt: skip


AGES = [timedelta(days=200), timedelta(days=91), timedelta(days=90, hours=1),
        timedelta(days=89, hours=23), timedelta(days=1), timedelta(0)]  # fmt: skip


def ages_of(table: pa.Table) -> list[int]:
    return sorted({(NOW - ts).days for ts in table["ts"].to_pylist()})


def test_parquet_files_go_whole_once_their_day_is_past(tmp_path: Path) -> None:
    log = tmp_path / "log"
    ParquetWriter(log, "replica-1")([record(age, i) for age in AGES for i in range(3)])
    # a file outside any date partition is judged by its newest row
    flat = log / "imported"
    flat.mkdir()
    pq.write_table(records_to_table([record(timedelta(days=300))]), flat / "old.parquet")
    pq.write_table(
        records_to_table([record(timedelta(days=300)), record(timedelta(days=2))]),
        flat / "mixed.parquet",
    )
    (log / "date=2026-12-03").mkdir()  # a writer's new partition, its first file not in yet
    files, rows = prune_query_log_files(log, NOW - timedelta(days=90))
    # 200 and 91 days old: their days ended before the cutoff; 90 days + 1 h old lies in the
    # cutoff's own day (2026-09-03) and stays with it, at most a day longer than asked
    assert (files, rows) == (3, 3 + 3 + 1)
    assert ages_of(read_query_log(log)) == [0, 1, 2, 89, 90, 300]
    assert not (log / "date=2026-05-16").exists()  # emptied partition directories go
    assert sorted(p.name for p in log.iterdir()).count("imported") == 1
    assert (log / "date=2026-12-03").is_dir()  # only the folders it emptied go


def test_retention_applies_to_the_settings_sinks(tmp_path: Path, postgres_dsn: str) -> None:
    dsn = fresh_database(postgres_dsn, "retention_log")
    writer = PostgresWriter(dsn)
    writer([record(age, i) for age in AGES for i in range(2)])
    writer.close()
    settings = Settings(
        query_log_dsn=dsn, query_log_dir=tmp_path / "unused",
        conversations_path=tmp_path / "c.sqlite3",
    )  # fmt: skip
    report = apply_retention(settings, now=NOW)
    # PostgreSQL rows go by their own time, not by day
    assert report.query_log_rows == 2 * 3 and report.query_log_files == 0
    assert ages_of(read_query_log_table(dsn)) == [0, 1, 89]
    assert apply_retention(settings, now=NOW).query_log_rows == 0
    kept = settings.model_copy(update={"query_log_retention_days": None})
    report = apply_retention(kept, now=NOW + timedelta(days=365))
    assert report.query_log_cutoff is None and "kept whole" in report.summary()
    assert ages_of(read_query_log_table(dsn)) == [0, 1, 89]
    empty = fresh_database(postgres_dsn, "retention_empty")  # nothing written: no table
    assert apply_retention(settings.model_copy(update={"query_log_dsn": empty})).query_log_rows == 0


@pytest.fixture(params=["sqlite", "postgresql"])
def answer_settings(request, tmp_path: Path) -> Settings:
    settings = Settings(query_log_dir=tmp_path / "log", answer_retention_days=30)
    if request.param == "sqlite":
        return settings.model_copy(update={"conversations_path": tmp_path / "c.sqlite3"})
    dsn = fresh_database(request.getfixturevalue("postgres_dsn"), request.node.name)
    return settings.model_copy(update={"conversations_dsn": dsn})


def test_old_answers_without_feedback_go(answer_settings: Settings) -> None:
    store = ConversationStore.from_settings(answer_settings)
    try:
        store.record_answers([AnswerRecord(f"r{i}", "acme") for i in range(4)])
        store.add_feedback("acme", "r1", -1)
        with store.database.transaction() as cursor:  # r0 and r1 answered 40 days ago
            cursor.execute(
                "UPDATE responses SET created_at = %s WHERE response_id IN ('r0', 'r1')",
                ((NOW - timedelta(days=40)).timestamp(),),
            )
        report = apply_retention(answer_settings, now=NOW)
        assert report.answers == 1 and report.query_log_rows == 0
        with pytest.raises(ResponseNotFoundError):  # a vote on a deleted answer is refused
            store.add_feedback("acme", "r0", 1)
        assert store.add_feedback("acme", "r1", 1).response_id == "r1"  # rated: kept
        store.add_feedback("acme", "r2", 1)
        assert store.ratings(["r0", "r1", "r2", "r3"]) == {"r1": 1, "r2": 1}
        later = NOW + timedelta(days=60)  # r3 is old now; r1 and r2 stay with their feedback
        assert apply_retention(answer_settings, now=later).answers == 1
        with pytest.raises(ResponseNotFoundError):
            store.add_feedback("acme", "r3", 1)
    finally:
        store.close()


def test_idle_conversations_go_with_their_messages_when_asked(answer_settings: Settings) -> None:
    store = ConversationStore.from_settings(answer_settings)
    try:
        idle = store.create("acme", "k1", "Тесла", "rag-docs")
        active = store.create("acme", "k1", "Варшава", "rag-docs")
        for conversation in (idle, active):
            store.add_message("acme", "k1", conversation.id, "user", "Когда умер Тесла?")
        with store.database.transaction() as cursor:
            cursor.execute(
                "UPDATE conversations SET updated_at = %s WHERE id = %s",
                ((NOW - timedelta(days=400)).timestamp(), idle.id),
            )
        assert apply_retention(answer_settings, now=NOW).conversations == 0  # off by default
        assert len(store.list("acme", "k1")) == 2
        asked = answer_settings.model_copy(update={"conversation_retention_days": 365})
        report = apply_retention(asked, now=NOW)
        assert report.conversations == 1 and "1 deleted" in report.summary()
        assert [c.id for c in store.list("acme", "k1")] == [active.id]
        with pytest.raises(ConversationNotFoundError):
            store.messages("acme", "k1", idle.id)
        with store.database.transaction() as cursor:
            (orphans,) = cursor.execute(
                "SELECT COUNT(*) FROM messages WHERE conversation_id = %s", (idle.id,)
            ).fetchone()
        assert orphans == 0 and len(store.messages("acme", "k1", active.id)) == 1
    finally:
        store.close()
