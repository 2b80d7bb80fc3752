"""One monitoring run: the query log's window against a reference, to a report (JSON), an MLflow
run with plots, and Prometheus gauges on the cluster (pipelines/monitor_metrics.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pyarrow as pa

from ruai.lifecycle.monitoring import MonitorReport, monitor, top1
from ruai.lifecycle.query_log_window import Window, read_query_log, read_window
from ruai.settings import Settings
from ruai.training.tracking import Tracking


@dataclass(frozen=True)
class MonitorRun:
    report: MonitorReport
    current: pa.Table
    ratings: dict[str, int]
    summary_path: Path
    mlflow_run_id: str | None


def window_to_monitor(
    window: str, reference: str, reference_path: Path | None
) -> tuple[Window, timedelta | Path]:
    """The CLIs' --window (ending now) and its reference: --reference-path (a query-log
    directory), else the --reference window just before it; ValueError saying what is wrong."""
    from ruai.lifecycle.query_log_window import now_utc, parse_duration

    span = Window.ending(now_utc(), parse_duration(window))
    if reference_path is None:
        return span, parse_duration(reference)
    if not reference_path.is_dir():
        raise ValueError(
            f"--reference-path {reference_path} is not a directory of query-log Parquet files"
        )
    return span, reference_path


def read_ratings(settings: Settings, table: pa.Table) -> dict[str, int]:
    """Feedback on the window's answers from the conversation store, joined on response_id."""
    from ruai.conversations.store import ConversationStore

    ids = [r for r in table["response_id"].to_pylist() if r]
    if not ids:
        return {}
    store = ConversationStore.from_settings(settings)
    try:
        return store.ratings(ids)
    finally:
        store.close()


def run_monitor(
    settings: Settings,
    window: Window,
    reference: timedelta | Path,
    output: Path,
    *,
    mlflow: bool = True,
    metrics: bool = True,
) -> MonitorRun:
    from ruai.encoders.factory import build_dense_encoder
    from ruai.lifecycle.registry import resolve_dense_model

    current = read_window(settings, window)
    if isinstance(reference, Path):
        past, label = read_query_log(reference), str(reference)
    else:
        before = window.before(reference)
        past, label = read_window(settings, before), before.label()
    ratings = read_ratings(settings, current)
    encoder = build_dense_encoder(resolve_dense_model(settings))
    report = monitor(
        current, past, encoder.encode_queries, settings, ratings,
        window=window.label(), reference_label=label,
    )  # fmt: skip
    output.mkdir(parents=True, exist_ok=True)
    summary = output / "monitor-summary.json"
    summary.write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=2), "utf-8")
    run_id = log_to_mlflow(settings, report, current, past, output) if mlflow else None
    if metrics:
        from pipelines.monitor_metrics import publish

        publish(report)
    return MonitorRun(report, current, ratings, summary, run_id)


def plot_scores(current: pa.Table, past: pa.Table, path: Path) -> Path:
    """Top-1 retrieval score histograms, window vs reference, one panel per tenant/collection."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def by_group(table: pa.Table) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        for row in table.to_pylist():
            score = top1(row["scores"])
            if score is not None:
                out.setdefault(f"{row['tenant']}/{row['collection'] or ''}", []).append(score)
        return out

    now, before = by_group(current), by_group(past)
    keys = sorted(now) or ["(empty window)"]
    fig, axes = plt.subplots(len(keys), 1, figsize=(7, 2.6 * len(keys)), squeeze=False)
    for ax, key in zip(axes[:, 0], keys, strict=True):
        ax.hist(before.get(key, []), bins=30, alpha=0.5, density=True, label="reference")
        ax.hist(now.get(key, []), bins=30, alpha=0.5, density=True, label="window")
        ax.set_title(f"top-1 score: {key}")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def log_to_mlflow(
    settings: Settings, report: MonitorReport, current: pa.Table, past: pa.Table, output: Path
) -> str:
    """One run per window: every group's and arm's numbers as metrics, the summary and plot."""
    import mlflow

    Tracking.from_settings(settings, output).activate()
    metrics: dict[str, float] = {"questions": float(report.questions)}
    for g in report.to_dict()["groups"]:
        prefix = f"{g['tenant']}.{g['collection'] or 'default'}"
        for key in ("mmd2", "mmd_p_value", "ks_p_value", "low_confidence_share",
                    "unknown_word_share", "non_cyrillic_share"):  # fmt: skip
            if g[key] is not None:
                metrics[f"{prefix}.{key}"] = float(g[key])
    for f in report.feedback:
        metrics[f"feedback.{f.arm}.negative_share"] = f.negative_share
    plot = plot_scores(current, past, output / "top1-scores.png")
    tags = {"kind": "monitor", "window": report.window, "reference": report.reference}
    with mlflow.start_run(run_name=f"monitor {report.window}", tags=tags) as run:
        mlflow.log_params({"triggers": len(report.triggers())})
        mlflow.log_metrics(metrics)
        mlflow.log_artifact(str(output / "monitor-summary.json"))
        mlflow.log_artifact(str(plot))
        return run.info.run_id
