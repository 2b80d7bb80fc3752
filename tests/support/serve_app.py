"""Helpers for Serve integration tests: tenant corpora ingested into a tmp store, and the RAG
application running on the test cluster with HTTP on a free port (never 8000)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from ruai.settings import Settings

APP_NAME = "rag-test"


def ingest_tenants(
    settings: Settings, articles: Path, out: Path, layout: dict[str, list[str]]
) -> dict[str, set[str]]:
    """Ingest each tenant's articles (file name prefixes); return each tenant's sources."""
    from pipelines.ingest import run_ingest

    sources: dict[str, set[str]] = {}
    for tenant, prefixes in layout.items():
        folder = out / tenant
        folder.mkdir(parents=True, exist_ok=True)
        for prefix in prefixes:
            (path,) = articles.glob(f"{prefix}*.md")
            shutil.copy(path, folder / path.name)
        report = run_ingest(settings, str(folder), tenant=tenant)
        assert report.documents_ok == len(prefixes), report
        sources[tenant] = {str(p.resolve()) for p in folder.glob("*.md")}
    return sources


def wait_healthy(base: str, timeout_s: float) -> str:
    """``base`` once its /healthz answers 200 (a config deploy builds the app asynchronously)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=30).status_code == 200:
                return base
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{base}/healthz not ready after {timeout_s}s")
        time.sleep(0.5)


@contextmanager
def running_app(args: dict[str, Any], port: int, ready_timeout_s: float = 300) -> Iterator[str]:
    """serve.run(build_app(args)) on the connected cluster; yields the base URL."""
    from ray import serve

    from serve_apps.rag import build_app

    serve.start(http_options={"host": "127.0.0.1", "port": port})
    try:
        serve.run(build_app(args), name=APP_NAME, route_prefix="/")
        yield wait_healthy(f"http://127.0.0.1:{port}", ready_timeout_s)
    finally:
        serve.shutdown()


@contextmanager
def deployed_app(
    args: dict[str, Any], port: int, dashboard: str, name: str, ready_timeout_s: float = 300,
    runtime_env: dict[str, Any] | None = None,
) -> Iterator[str]:
    """The RAG application deployed from a config through Serve's REST API (what `serve deploy`
    and a RayService do, so that a later deploy can change only a user_config), with the config's
    own ``runtime_env`` if given; yields the URL."""
    from ray import serve
    from ray.dashboard.modules.serve.sdk import ServeSubmissionClient

    serve.start(http_options={"host": "127.0.0.1", "port": port})
    try:
        app = {"name": name, "import_path": "serve_apps.rag:build_app", "route_prefix": "/",
               "args": args} | ({"runtime_env": runtime_env} if runtime_env else {})  # fmt: skip
        ServeSubmissionClient(dashboard).deploy_applications(
            {"applications": [app], "http_options": {"host": "127.0.0.1", "port": port}}
        )
        yield wait_healthy(f"http://127.0.0.1:{port}", ready_timeout_s)
    finally:
        serve.shutdown()
