"""The query-log window that jobs.monitor and jobs.retrain read: their shared options."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from jobs.cli import fail

if TYPE_CHECKING:
    from ruai.lifecycle.query_log_window import Window

WINDOW = typer.Option("24h", help="Window of the query log, ending now: 30m, 24h, 7d")
REFERENCE = typer.Option("7d", help="Reference window just before --window")
REFERENCE_PATH = typer.Option(
    None, help="A query-log directory to compare against instead of --reference"
)


def window_and_reference(
    window: str, reference: str, reference_path: Path | None
) -> tuple[Window, timedelta | Path]:
    """(the window, its reference: a duration before it or a log directory), or exit 2."""
    from pipelines.monitor import window_to_monitor

    try:
        return window_to_monitor(window, reference, reference_path)
    except ValueError as exc:
        fail(str(exc))
