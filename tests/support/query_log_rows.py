"""The rows a served application's query log holds, waited for: its sink writes Parquet files
off the request path (every ``query_log_flush_s``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path


def logged_rows(
    folder: Path, wanted: Callable[[dict], bool], at_least: int = 1, timeout_s: float = 60
) -> list[dict]:
    """The rows of the query log under ``folder`` for which ``wanted(row)`` holds, once there
    are ``at_least`` of them (an AssertionError after ``timeout_s``)."""
    import pyarrow.dataset as pads

    deadline = time.monotonic() + timeout_s
    while True:
        if folder.is_dir():
            table = pads.dataset(folder, format="parquet", partitioning="hive",
                                 exclude_invalid_files=True).to_table()  # fmt: skip
            rows = [row for row in table.to_pylist() if wanted(row)]
            if len(rows) >= at_least:
                return rows
        assert time.monotonic() < deadline, f"nothing wanted in {folder} within {timeout_s} s"
        time.sleep(0.2)
