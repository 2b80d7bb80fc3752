"""A real Prometheus (Debian's /usr/bin/prometheus) on a free port, scraping given targets every
second, with its TSDB in a temp dir; stopped (only this process) on exit."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import yaml

from tests.support import http_calls

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


@contextmanager
def prometheus_server(targets: list[str], work: Path, port: int) -> Iterator[str]:
    """Yields the base URL once Prometheus is ready."""
    if not Path(PROMETHEUS).is_file():
        raise FileNotFoundError("prometheus not found: scripts/system-packages.sh installs it")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": "ray", "static_configs": [{"targets": targets}]}],
    }
    (work / "prometheus.yml").write_text(yaml.safe_dump(config))
    log = (work / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            PROMETHEUS, f"--config.file={work / 'prometheus.yml'}",
            f"--storage.tsdb.path={work / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if http_calls.get(f"{base}/-/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"prometheus did not start: {(work / 'prometheus.log').read_text()}"
                )
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def metric_names(base: str) -> set[str]:
    response = http_calls.get(f"{base}/api/v1/label/__name__/values", timeout=10)
    response.raise_for_status()
    return set(response.json()["data"])
