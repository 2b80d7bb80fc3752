"""The query-log sink (no Ray): rows land in date-partitioned Parquet files with the shared
schema, a hash-only record holds no text, and a dead or stalled writer never blocks or fails the
caller: the loss is counted by reason."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from ruai.lifecycle.query_log import SCHEMA, QueryRecord, question_hash, records_to_table
from ruai.lifecycle.query_log_sink import (
    CLOSED,
    QUEUE_FULL,
    WRITE_ERROR,
    BatchingSink,
    query_log_sink,
)
from ruai.lifecycle.query_log_writers import ParquetWriter, PostgresWriter
from ruai.settings import Settings

DAY_MS = 86_400_000
T0 = 1_796_169_600_000  # 2026-12-02 00:00 UTC


def record(i: int, *, tenant: str = "acme", keep_text: bool = True, ts_ms: int = T0) -> QueryRecord:
    return QueryRecord.of(
        f"Когда умер Никола Тесла? {i}", keep_text=keep_text, ts_ms=ts_ms + i, tenant=tenant,
        endpoint="/v1/chat/completions", latency_ms=12.5, status=200, arm="champion",
        experiment="lora-v2", llm_model="extractive", dense_model="navec", collection="ruai",
        chunk_ids=(f"c{i}", "c-other"), scores=(0.9, 0.5), response_id=f"chatcmpl-{i}",
    )  # fmt: skip


def test_rows_land_in_date_partitioned_parquet_with_the_shared_schema(tmp_path: Path) -> None:
    settings = Settings(query_log_dir=tmp_path / "log", query_log_batch_rows=3)
    drops: list[tuple[str, int]] = []
    sink = query_log_sink(settings, "host/replica#1", lambda reason, n: drops.append((reason, n)))
    records = [record(i) for i in range(5)] + [record(9, tenant="globex", keep_text=False,
                                                      ts_ms=T0 + DAY_MS)]  # fmt: skip
    assert all(sink.submit(r) for r in records)
    sink.close()
    assert drops == [] and sink.written == len(records)

    files = sorted(p.relative_to(tmp_path / "log") for p in (tmp_path / "log").rglob("*"))
    days = [str(p) for p in files if p.parent == Path(".")]
    assert days == ["date=2026-12-02", "date=2026-12-03"]
    names = [p.name for p in files if p.suffix == ".parquet"]
    assert len(names) >= 2 and all("host_replica_1" in n for n in names)  # made name-safe
    assert not [p for p in files if p.name.startswith(".")]  # no temporary file left behind

    table = ds.dataset(tmp_path / "log", format="parquet", partitioning="hive").to_table()
    assert set(table.column_names) == set(SCHEMA.names) | {"date"}
    rows = {r["response_id"]: r for r in table.to_pylist()}
    assert len(rows) == 6
    assert rows["chatcmpl-0"]["question"] == "Когда умер Никола Тесла? 0"
    assert rows["chatcmpl-0"]["chunk_ids"] == ["c0", "c-other"]
    assert rows["chatcmpl-0"]["scores"] == pytest.approx([0.9, 0.5])
    assert rows["chatcmpl-0"]["arm"] == "champion" and rows["chatcmpl-0"]["status"] == 200
    # the hash-only tenant's row: the hash, never the text
    hashed = rows["chatcmpl-9"]
    assert hashed["question"] is None and hashed["date"] == "2026-12-03"
    assert hashed["question_sha256"] == question_hash("Когда умер Никола Тесла? 9")
    one_file = next((tmp_path / "log").rglob("*.parquet"))
    assert pq.read_schema(one_file).remove_metadata() == SCHEMA


def test_an_unwritable_directory_costs_rows_never_the_caller(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the log directory should be")  # even root cannot mkdir
    drops: list[tuple[str, int]] = []
    lost: list[QueryRecord] = []
    sink = BatchingSink(
        ParquetWriter(blocker / "log", "r1"), name="t", batch_rows=2, flush_s=0.01,
        on_drop=lambda reason, n: drops.append((reason, n)), on_lost=lost.extend,
    )  # fmt: skip
    for i in range(5):
        assert sink.submit(record(i)) is True  # queued: the caller never sees the failure
    assert sink.flush(timeout_s=10)
    assert sink.written == 0 and sink.dropped == {WRITE_ERROR: 5}
    assert sum(n for reason, n in drops if reason == WRITE_ERROR) == 5
    # the lost records themselves (the app forgets their answer ids: nothing waits on them)
    assert sorted(r.response_id for r in lost) == [f"chatcmpl-{i}" for i in range(5)]
    sink.close()
    assert sink.submit(record(6)) is False and sink.dropped[CLOSED] == 1


def test_a_stalled_writer_fills_the_queue_and_drops_are_counted(tmp_path: Path) -> None:
    """A writer stuck on a lock: submit returns at once, past the queue's size rows are dropped
    (counted); once the writer moves again the queued rows are written."""
    stuck = threading.Lock()
    stuck.acquire()
    written: list[QueryRecord] = []

    def writer(batch):
        with stuck:
            written.extend(batch)

    sink = BatchingSink(writer, name="t", queue_size=4, batch_rows=1, flush_s=0.01)
    assert sink.submit(record(0))
    deadline = time.monotonic() + 10
    while sink.queued and time.monotonic() < deadline:  # the writer took it and hangs
        time.sleep(0.01)
    accepted = [sink.submit(record(i)) for i in range(1, 11)]  # (a blocking submit would hang)
    assert accepted == [True] * 4 + [False] * 6
    assert sink.dropped == {QUEUE_FULL: 6}
    assert not sink.flush(timeout_s=0.2)  # still stuck
    stuck.release()
    assert sink.flush(timeout_s=10)
    assert [r.response_id for r in written] == [f"chatcmpl-{i}" for i in range(5)]
    sink.close()


def test_rows_in_postgresql_and_a_server_that_is_down(postgres_dsn: str) -> None:
    """RUAI_QUERY_LOG_DSN: rows in the query_log table with the schema's columns; a server that
    does not answer costs the batch (counted), never the caller."""
    import psycopg

    from tests.conftest import free_port

    run = uuid.uuid4().hex[:8]
    records = [record(i, tenant=f"pg-{run}", keep_text=i != 1) for i in range(3)]
    sink = query_log_sink(Settings(query_log_dsn=postgres_dsn, query_log_flush_s=0.01), "r")
    assert all(sink.submit(r) for r in records)
    sink.close()
    assert sink.written == 3 and not sink.dropped
    with psycopg.connect(postgres_dsn) as connection:
        columns = [row[0] for row in connection.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'query_log' "
            "ORDER BY ordinal_position").fetchall()]  # fmt: skip
        rows = connection.execute(
            "SELECT question, question_sha256, chunk_ids, scores, ts FROM query_log "
            "WHERE tenant = %s ORDER BY ts",
            (f"pg-{run}",),
        ).fetchall()
    assert columns == SCHEMA.names
    assert [r[0] for r in rows] == [records[0].question, None, records[2].question]
    assert rows[1][1] == question_hash("Когда умер Никола Тесла? 1")
    assert rows[0][2] == ["c0", "c-other"] and rows[0][3] == pytest.approx([0.9, 0.5])
    assert int(rows[2][4].timestamp() * 1000) == T0 + 2
    # what jobs.monitor reads with RUAI_QUERY_LOG_DSN set: the same rows, as the Arrow SCHEMA
    from ruai.lifecycle.query_log_window import Window, read_window

    start = datetime.fromtimestamp(T0 / 1000, UTC)
    window = Window(start, start + timedelta(milliseconds=3))
    read = read_window(Settings(query_log_dsn=postgres_dsn), window)
    mine = read.filter(pc.equal(read.column("tenant"), f"pg-{run}"))
    assert mine.schema == SCHEMA
    assert mine.column("question").to_pylist() == [records[0].question, None, records[2].question]
    assert mine.column("chunk_ids").to_pylist()[0] == ["c0", "c-other"]

    down = query_log_sink(
        Settings(query_log_dsn=f"postgresql://ruai@127.0.0.1:{free_port()}/ruai",
                 query_log_flush_s=0.01, query_log_retry_s=1.0), "r",
    )  # fmt: skip
    assert all(down.submit(r) for r in records)
    assert down.flush(timeout_s=30)
    assert down.written == 0 and down.dropped == {WRITE_ERROR: 3}
    down.close()


def test_a_log_written_before_a_column_was_added_reads_it_as_null(
    tmp_path: Path, postgres_dsn: str
) -> None:
    """ttft_ms came after the first release: its Parquet files and its PostgreSQL table lack it.
    Readers give null there; the first write to an old table adds the column."""
    import psycopg

    from ruai.lifecycle.audit_chain import AuditChain, verify
    from ruai.lifecycle.query_log_window import read_query_log, read_query_log_table
    from ruai.lifecycle.query_log_writers import TABLE, PostgresWriter, _pg_row, _pg_type
    from tests.support.postgres_server import fresh_database

    # the first release's columns: those before ttft_ms (the audit columns came later still)
    old_columns = list(SCHEMA)[: SCHEMA.get_field_index("ttft_ms")]
    old, new = record(0), dataclasses.replace(record(1), ttft_ms=4.5)

    log = tmp_path / "log"
    (log / "date=2026-12-02").mkdir(parents=True)
    old_table = records_to_table([old]).select([f.name for f in old_columns])
    pq.write_table(old_table, log / "date=2026-12-02" / "old.parquet")
    ParquetWriter(log, "r")([new])
    read = read_query_log(log)
    assert read.schema == SCHEMA
    by_id = dict(zip(read["response_id"].to_pylist(), read["ttft_ms"].to_pylist(), strict=True))
    assert by_id == {"chatcmpl-0": None, "chatcmpl-1": 4.5}

    dsn = fresh_database(postgres_dsn, "query_log_before_ttft")
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(
            f"CREATE TABLE {TABLE} ("
            + ", ".join(f"{f.name} {_pg_type(f)}" for f in old_columns) + ")"
        )  # fmt: skip
        names = ", ".join(f.name for f in old_columns)
        marks = ", ".join(["%s"] * len(old_columns))
        [link], _ = AuditChain().link([old])
        connection.execute(f"INSERT INTO {TABLE} ({names}) VALUES ({marks})",
                           _pg_row(old, link)[: len(old_columns)])  # fmt: skip
    before = read_query_log_table(dsn)
    assert before.schema == SCHEMA and before["ttft_ms"].to_pylist() == [None]

    writer = PostgresWriter(dsn)
    writer([new])
    writer.close()
    after = read_query_log_table(dsn)
    assert after["response_id"].to_pylist() == ["chatcmpl-0", "chatcmpl-1"]
    assert after["ttft_ms"].to_pylist() == [None, 4.5]
    # the new row is chained, and its hash survives the round trip through PostgreSQL
    assert after["seq"].to_pylist() == [None, 0]
    assert verify(after) == [] and verify(read) == []


def test_a_failed_batch_is_written_again_once_the_writer_recovers(postgres_dsn: str) -> None:
    """A database that is down for a moment (the sink's batch fails) costs no record: the batch
    is tried again within RUAI_QUERY_LOG_RETRY_S; past it, the batch is dropped and counted."""
    import psycopg

    run = uuid.uuid4().hex[:8]
    real = PostgresWriter(postgres_dsn)
    calls = []

    def flaky(batch):  # the real writer behind a database that refuses its first two batches
        calls.append(len(batch))
        if len(calls) <= 2:
            raise psycopg.OperationalError("the database is restarting")
        real(batch)

    sink = BatchingSink(flaky, name="flaky", flush_s=0.01, retry_s=30.0)
    records = [record(i, tenant=f"retry-{run}") for i in range(3)]
    assert all(sink.submit(r) for r in records)
    assert sink.flush(timeout_s=30)
    assert sink.written == 3 and not sink.dropped and len(calls) >= 3
    with psycopg.connect(postgres_dsn) as connection:
        stored = connection.execute("SELECT count(*) FROM query_log WHERE tenant = %s",
                                    (f"retry-{run}",)).fetchone()[0]  # fmt: skip
    assert stored == 3
    sink.close()

    never = BatchingSink(lambda batch: 1 / 0, name="never", flush_s=0.01, retry_s=0.5)
    assert never.submit(records[0]) and never.flush(timeout_s=30)
    assert never.written == 0 and never.dropped == {WRITE_ERROR: 1}
    never.close()
