"""Run the agent over a dataset of tasks (Ray Data), against the served model and tools.

python -m jobs.agent TASKS OUT [--concurrency N]

TASKS: a JSONL file of {"id", "task"} lines, or a folder of documents (each a letter to answer).
OUT: one JSON result per task under OUT/results (answer, citations, tool trace, status) and
OUT/summary.json. A re-run skips the tasks that finished. The API, key, model and budgets are
settings: RUAI_AGENT_API_URL, RUAI_AGENT_API_KEY, RUAI_AGENT_MODEL, RUAI_AGENT_MAX_STEPS,
RUAI_AGENT_MAX_SECONDS, RUAI_AGENT_CONCURRENCY (docs/agents.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from jobs.cli import ExitCode, fail

app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    tasks: Path = typer.Argument(..., help="JSONL of {id, task} or a folder of documents"),
    out: Path = typer.Argument(..., help="Folder for the results and summary.json"),
    concurrency: int = typer.Option(None, min=1, help="Tasks at once (RUAI_AGENT_CONCURRENCY)"),
) -> None:
    from jobs.ask import wait_until_ready
    from pipelines.agent_tasks import TaskInputError, run_agent_tasks
    from pipelines.cluster import init_ray
    from ruai.settings import get_settings

    settings = get_settings()
    wait_until_ready(settings.agent_api_url, 60)
    init_ray()
    try:
        summary = run_agent_tasks(settings, tasks, out, concurrency)
    except TaskInputError as exc:
        fail(str(exc))
    console = Console(stderr=True)
    table = Table(title=f"{summary.total} tasks: {summary.skipped} finished earlier, "
                        f"{summary.ran} run now")  # fmt: skip
    table.add_column("status")
    table.add_column("tasks", justify="right")
    for status, count in sorted(summary.statuses.items()):
        table.add_row(status, str(count))
    console.print(table)
    for failure in summary.failures:
        console.print(f"failed {failure['id']}: {failure['error']}", markup=False)
    print(json.dumps(summary.to_dict(), ensure_ascii=False))
    if summary.failures:
        raise typer.Exit(int(ExitCode.PROBLEMS))


if __name__ == "__main__":
    app()
