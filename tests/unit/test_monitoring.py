"""The monitoring report on a query log written as the sink writes it (Parquet files by date):
quiet on a same-distribution window, firing on a shifted one; feedback per arm from a real
(SQLite) conversation store; the CLI's summary and exit status."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from ruai.conversations.store import ConversationStore
from ruai.encoders.factory import build_dense_encoder
from ruai.eval.squad import read_squad
from ruai.lifecycle.monitoring import monitor
from ruai.lifecycle.query_log import QueryRecord, records_to_table
from ruai.lifecycle.query_log_window import Window, parse_duration, read_query_log
from ruai.settings import Settings

NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)
ENGLISH = [
    "What is the capital of France?", "Who wrote the book about the war?",
    "When did the Second World War end?", "How many people live in the city?",
    "Which team won the championship last year?", "Where was the first university founded?",
]  # fmt: skip


def records(questions, start: datetime, scores, **fields) -> list[QueryRecord]:
    return [
        QueryRecord.of(
            q, ts_ms=int((start + timedelta(minutes=i)).timestamp() * 1000), tenant="acme",
            endpoint="/v1/chat/completions", latency_ms=5.0, status=200, collection="docs",
            chunk_ids=(f"c{i}",), scores=(float(s), 0.1), response_id=f"r-{start:%d}-{i}",
            **fields,
        )
        for i, (q, s) in enumerate(zip(questions, scores, strict=True))
    ]  # fmt: skip


def write_log(log_dir: Path, recs: list[QueryRecord]) -> None:
    """One Parquet file per date partition, as the sink writes them."""
    by_day: dict[str, list[QueryRecord]] = {}
    for r in recs:
        by_day.setdefault(
            datetime.fromtimestamp(r.ts_ms / 1000, UTC).strftime("%Y-%m-%d"), []
        ).append(r)
    for day, rows in by_day.items():
        (log_dir / f"date={day}").mkdir(parents=True, exist_ok=True)
        pq.write_table(
            records_to_table(rows), log_dir / f"date={day}" / f"part-{len(rows)}.parquet"
        )


@pytest.fixture(scope="module")
def questions(xquad_path: Path) -> dict[str, list[str]]:
    data = read_squad(xquad_path)
    rng = np.random.default_rng(7)
    everything = [q.question for q in data.questions]
    order = rng.permutation(len(everything))
    subject = [q.question for q in data.questions if q.article_index in (0, 1)]
    return {
        "reference": [everything[i] for i in order[:200]],
        "same": [everything[i] for i in order[200:320]],
        "shifted": subject[:60] + ENGLISH * 5,
    }


@pytest.fixture(scope="module")
def encode():
    return build_dense_encoder(Settings()).encode_queries


def test_window_reads_only_its_rows_across_partitions(tmp_path: Path) -> None:
    write_log(
        tmp_path, records(["раз", "два", "три"], NOW - timedelta(days=1, minutes=1), [1, 1, 1])
    )
    window = Window.ending(NOW, parse_duration("24h"))
    table = read_query_log(tmp_path, window)
    assert table["question"].to_pylist() == ["два", "три"]
    assert read_query_log(tmp_path / "missing", window).num_rows == 0
    assert window.before(parse_duration("7d")).end == window.start
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("24")


def test_quiet_on_same_distribution_fires_on_shift(tmp_path, questions, encode) -> None:
    settings = Settings(monitor_min_questions=30, monitor_low_score=0.5)
    rng = np.random.default_rng(0)
    high = lambda n: rng.uniform(0.55, 1.0, n)  # noqa: E731
    reference = records_to_table(
        records(questions["reference"], NOW - timedelta(days=3), high(200))
    )
    same = records_to_table(records(questions["same"], NOW - timedelta(hours=5), high(120)))
    quiet = monitor(same, reference, encode, settings)
    (group,) = quiet.groups
    assert group.tested and not group.drifted and quiet.triggers() == []
    assert group.mmd_p_value > settings.monitor_alpha

    shifted_scores = rng.uniform(0.1, 0.7, len(questions["shifted"]))
    shifted = records_to_table(
        records(questions["shifted"], NOW - timedelta(hours=5), shifted_scores)
    )
    report = monitor(shifted, reference, encode, settings)
    (group,) = report.groups
    assert group.embedding_drift and group.score_drift and group.low_confidence
    assert group.language_drift and group.non_cyrillic_share == pytest.approx(30 / 90)
    assert len(report.triggers()) == 4


def test_feedback_negative_share_per_arm(tmp_path, questions, encode) -> None:
    settings = Settings(monitor_min_feedback=10, monitor_max_negative_share=0.3)
    store = ConversationStore.from_settings(
        settings.model_copy(update={"conversations_path": tmp_path / "c.sqlite3"})
    )
    recs = records(
        questions["same"][:40], NOW - timedelta(hours=2), [0.9] * 40, dense_model="navec"
    )
    recs = [r.__class__(**{**r.__dict__, "arm": "canary" if i % 2 else "control"})
            for i, r in enumerate(recs)]  # fmt: skip
    for i, r in enumerate(recs):
        store.record_response(r.response_id, "acme")
        negative = (i % 2 == 1 and i < 26) or i == 0  # canary: 13 of 20 bad; control: 1 of 20
        store.add_feedback("acme", r.response_id, -1 if negative else 1)
    ratings = store.ratings([r.response_id for r in recs] + ["never-rated"])
    store.close()
    assert len(ratings) == 40
    table = records_to_table(recs)
    report = monitor(table, table, encode, settings, ratings)
    shares = {f.arm: f for f in report.feedback}
    assert shares["canary"].negative_share == pytest.approx(13 / 20) and shares["canary"].alerting
    assert shares["control"].negative_share == pytest.approx(1 / 20)
    assert not shares["control"].alerting and shares["control"].model == "navec"
    assert report.triggers() == ["arm canary (navec): 65% negative feedback"]


def _drifted_log(tmp_path: Path, questions, monkeypatch) -> None:
    """A query log whose last 24 h drifted from the week before, and 5 rows past retention."""
    now = datetime.now(UTC)
    rng = np.random.default_rng(1)
    write_log(tmp_path / "log", records(questions["reference"], now - timedelta(days=3),
                                        rng.uniform(0.6, 1, 200)))  # fmt: skip
    write_log(tmp_path / "log", records(questions["shifted"], now - timedelta(hours=3),
                                        rng.uniform(0.1, 0.6, 90)))  # fmt: skip
    # past the default 90 days of retention: the run deletes these (one day's file: at noon,
    # five minutes' rows never cross a midnight)
    old = (now - timedelta(days=120)).replace(hour=12, minute=0)
    write_log(tmp_path / "log", records(questions["reference"][:5], old, [0.9] * 5))
    monkeypatch.setenv("RUAI_QUERY_LOG_DIR", str(tmp_path / "log"))
    monkeypatch.setenv("RUAI_CONVERSATIONS_PATH", str(tmp_path / "c.sqlite3"))


def _invoke(app, args: list[str]):
    from ruai.settings import get_settings

    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, args)
    finally:
        get_settings.cache_clear()


def test_cli_writes_summary_and_exits_1_on_drift(tmp_path, questions, monkeypatch) -> None:
    from jobs.monitor import app

    _drifted_log(tmp_path, questions, monkeypatch)
    out = str(tmp_path / "out")
    args = ["--window", "24h", "--reference", "7d", "--output", out, "--no-mlflow", "--no-metrics"]
    result = _invoke(app, [*args, "--act"])
    assert result.exit_code == 1, result.output
    summary = json.loads((tmp_path / "out" / "monitor-summary.json").read_text())
    assert summary["questions"] == 90 and summary["groups"][0]["drifted"]
    steps = json.loads((tmp_path / "out" / "retrain-steps.json").read_text())
    # drift, but no feedback at all: the chain stops at the pairs and says why
    assert [s["status"] for s in steps] == ["ok", "stopped"]
    assert "no positively rated answer" in steps[1]["detail"]
    retention = json.loads((tmp_path / "out" / "retention-summary.json").read_text())
    assert retention["query_log_rows"] == 5 and retention["query_log_files"] == 1
    assert retention["answer_cutoff"] is not None
    assert "retention: query log: 5 rows" in result.output
    assert read_query_log(tmp_path / "log").num_rows == 290


def test_retrain_cli_runs_the_chain_on_the_window(tmp_path, questions, monkeypatch) -> None:
    """jobs.retrain: the monitor's report of the window, then the chain's steps, each printed
    with its outcome; stopping where there is nothing to learn is no failure (exit 0)."""
    from jobs.retrain import app

    _drifted_log(tmp_path, questions, monkeypatch)
    out = tmp_path / "out"
    result = _invoke(app, ["--window", "24h", "--output", str(out)])
    assert result.exit_code == 0, result.output
    steps = json.loads((out / "retrain-steps.json").read_text())
    assert [(s["name"], s["status"]) for s in steps] == [("trigger", "ok"), ("pairs", "stopped")]
    assert "retrain pairs: stopped: no positively rated answer" in " ".join(result.output.split())
    assert read_query_log(tmp_path / "log").num_rows == 295  # no retention here
    bad = _invoke(app, ["--window", "24x"])
    assert bad.exit_code == 2 and "error: " in bad.output
