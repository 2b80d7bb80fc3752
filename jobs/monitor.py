"""Monitor the query log: drift, retrieval confidence, language and feedback of a window.

    python -m jobs.monitor --window 24h [--reference 7d | --reference-path DIR] [--act [--execute]]
    ray job submit --working-dir . -- python -m jobs.monitor --window 24h

Reads the query log (RUAI_QUERY_LOG_DIR) of the last --window against the --reference window
before it (or a reference log directory), per tenant and collection; feedback from the
conversation store. Prints a table, writes monitor-summary.json under --output, logs an MLflow
run (metrics + plots) and sets the ray_ruai_drift_* / ray_ruai_feedback_* gauges on the cluster
(docs/lifecycle.md). --act then runs the retraining chain (what ``python -m jobs.retrain``
runs, jobs/retrain.py): a dry run unless --execute. Then it applies the retention settings
(RUAI_QUERY_LOG_RETENTION_DAYS, RUAI_ANSWER_RETENTION_DAYS; ruai/lifecycle/retention.py) unless
--no-retention, and writes what it deleted to retention-summary.json.
Exit status: 0 quiet, 1 a threshold was crossed, 2 an input error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from jobs.cli import ExitCode
from jobs.window_options import REFERENCE, REFERENCE_PATH, WINDOW, window_and_reference
from ruai.settings import get_settings

app = typer.Typer(add_completion=False, help=__doc__)
console = Console(stderr=True)


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


def _p(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def report_table(report) -> Table:
    table = Table(title=f"query log {report.window} vs {report.reference}")
    for column in (
        "tenant/collection",
        "n",
        "ref n",
        "MMD p",
        "KS p",
        "low conf",
        "unknown words",
        "non-Cyrillic",
        "drift",
    ):
        table.add_column(column, justify="left" if column == "tenant/collection" else "right")
    for g in report.groups:
        table.add_row(
            f"{g.tenant}/{g.collection}",
            str(g.questions),
            str(g.reference_questions),
            _p(g.mmd_p_value),
            _p(g.ks_p_value),
            _pct(g.low_confidence_share),
            _pct(g.unknown_word_share),
            _pct(g.non_cyrillic_share),
            ("YES" if g.drifted else "no") if g.tested else "too few",
        )
    for f in report.feedback:
        table.add_row(
            f"arm {f.arm} ({f.model})",
            str(f.ratings),
            "",
            "",
            "",
            "",
            "",
            "",
            f"{_pct(f.negative_share)} neg" + (" ALERT" if f.alerting else ""),
        )
    return table


@app.command()
def main(
    window: str = WINDOW,
    reference: str = REFERENCE,
    reference_path: Path = REFERENCE_PATH,
    output: Path | None = typer.Option(
        None, help="Summary, plots, retraining files [default: RUAI_MONITOR_DIR]"
    ),
    act: bool = typer.Option(False, "--act", help="Run the retraining trigger when needed"),
    execute: bool = typer.Option(
        False, "--execute", help="With --act: really fine-tune, gate and start a canary"
    ),
    mlflow: bool = typer.Option(True, "--mlflow/--no-mlflow", help="Log an MLflow run"),
    metrics: bool = typer.Option(True, "--metrics/--no-metrics", help="Set the Ray gauges"),
    retention: bool = typer.Option(
        True, "--retention/--no-retention", help="Delete query-log rows and answers past retention"
    ),
) -> None:
    from pipelines.cluster import init_ray
    from pipelines.monitor import run_monitor

    settings = get_settings()
    output = output or settings.monitor_dir
    span, past = window_and_reference(window, reference, reference_path)

    if metrics or (act and execute):
        init_ray()
    run = run_monitor(settings, span, past, output, mlflow=mlflow, metrics=metrics)
    report = run.report
    Console().print(report_table(report))
    triggers = report.triggers()
    for line in triggers:
        console.print(f"[red]threshold crossed[/red]: {line}")
    console.print(
        f"summary: {run.summary_path}"
        + (f"  mlflow run {run.mlflow_run_id}" if run.mlflow_run_id else "")
    )
    if act:
        from jobs.retrain import retrain

        retrain(settings, run, output, execute=execute)
    if retention:
        from ruai.lifecycle.retention import apply_retention

        kept = apply_retention(settings)
        (output / "retention-summary.json").write_text(json.dumps(kept.to_dict(), indent=2))
        console.print(f"retention: {kept.summary()}")
    if triggers:
        raise typer.Exit(int(ExitCode.PROBLEMS))


if __name__ == "__main__":
    sys.exit(app())
