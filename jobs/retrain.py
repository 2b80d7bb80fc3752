"""Retrain the embedder from the query log's feedback: the retraining chain, step by step.

    python -m jobs.retrain --window 24h [--reference 7d | --reference-path DIR] [--execute]
    ray job submit --working-dir . -- python -m jobs.retrain --window 24h --execute

Monitors the --window of the query log (RUAI_QUERY_LOG_DIR) against its reference, as
jobs.monitor does (no MLflow run, no gauges), then runs the chain of pipelines/retrain.py: trigger
(a threshold crossed), pairs (the window's positively rated answers + the champion's dataset),
fine-tune (with --execute; else a dry run stops there), gate, canary (docs/lifecycle.md). Each
step prints its outcome (ok, skipped, stopped or failed, and why) as it ends; all of them go to
<--output>/retrain-steps.json. ``jobs.monitor --act`` runs the same chain after its own report.
Exit status: 0 the chain ran (to its end, or stopped where there was nothing to do), 1 a step
failed, 2 an input error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from jobs.cli import ExitCode
from jobs.window_options import REFERENCE, REFERENCE_PATH, WINDOW, window_and_reference
from ruai.settings import Settings, get_settings

if TYPE_CHECKING:
    from pipelines.monitor import MonitorRun
    from pipelines.retrain import Chain, Step

app = typer.Typer(add_completion=False, help=__doc__)
console = Console(stderr=True)
STEPS_FILE = "retrain-steps.json"


def retrain(settings: Settings, run: MonitorRun, output: Path, *, execute: bool) -> Chain:
    """The chain on a monitor run's window (``pipelines.monitor.MonitorRun``): each step printed
    as it ends, all of them written to ``<output>/retrain-steps.json``; returns the Chain."""
    from pipelines.retrain import FAILED, run_chain

    def report(step: Step) -> None:
        colour = "red" if step.status is FAILED else "green" if step.goes_on else "yellow"
        console.print(f"retrain {step.name}: [{colour}]{step.status}[/{colour}]: {step.detail}")

    chain = run_chain(
        settings,
        run.report,
        run.current.to_pylist(),
        run.ratings,
        output / "retrain",
        execute=execute,
        log=report,
    )
    (output / STEPS_FILE).write_text(json.dumps(chain.to_list(), indent=2), "utf-8")
    return chain


@app.command()
def main(
    window: str = WINDOW,
    reference: str = REFERENCE,
    reference_path: Path = REFERENCE_PATH,
    output: Path | None = typer.Option(
        None, help="Summary and retraining files [default: RUAI_MONITOR_DIR, under RUAI_DATA_DIR]"
    ),
    execute: bool = typer.Option(
        False, "--execute", help="Really fine-tune, gate and start a canary (else a dry run)"
    ),
) -> None:
    from pipelines.cluster import init_ray, running_cluster_address
    from pipelines.monitor import run_monitor
    from raystore import release_store

    settings = get_settings()
    output = output or settings.monitor_dir
    span, past = window_and_reference(window, reference, reference_path)
    # a fine-tune runs on Ray Train; a running cluster's store owner holds an embedded index
    started_here = init_ray() if execute or running_cluster_address() else False
    try:
        run = run_monitor(settings, span, past, output, mlflow=False, metrics=False)
        chain = retrain(settings, run, output, execute=execute)
    finally:
        if started_here:
            release_store(settings)
    console.print(f"steps: {output / STEPS_FILE}")
    if chain.failed:
        raise typer.Exit(int(ExitCode.PROBLEMS))


if __name__ == "__main__":
    sys.exit(app())
