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
from tests.support import http_calls

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
            if http_calls.get(f"{base}/healthz", timeout=30).status_code == 200:
                return base
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{base}/healthz not ready after {timeout_s}s")
        time.sleep(0.5)


_serve_port: int | None = None


def serve_port() -> int:
    """The HTTP port of this process's Serve instance on the connected cluster: started with the
    first application and kept for the next ones of the same unit of work, which each deploy and
    delete their own (a start costs a controller, a proxy and HAProxy: ~9 CPU-s and ~10 s on the
    CI machine); :func:`stop_serve` ends it (tests/conftest.py, after a unit's last test). Never
    8000: `serve.run` without a running instance would start one there, so this checks that the
    controller is alive before it says the port."""
    global _serve_port
    import ray
    from ray import serve
    from ray.serve._private.constants import SERVE_CONTROLLER_NAME, SERVE_NAMESPACE

    from tests.support.ports import free_port

    try:
        ray.get_actor(SERVE_CONTROLLER_NAME, namespace=SERVE_NAMESPACE)
    except ValueError:
        _serve_port = None
    if _serve_port is None:
        port = free_port()
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        _serve_port = port
    return _serve_port


def stop_serve() -> None:
    """Shut down the Serve instance :func:`serve_port` started, if any (nothing to do once the
    driver left the cluster: its teardown ends Serve with it)."""
    global _serve_port
    import ray

    if _serve_port is not None and ray.is_initialized():
        from ray import serve

        serve.shutdown()
    _serve_port = None


@contextmanager
def running_app(args: dict[str, Any], ready_timeout_s: float = 300) -> Iterator[str]:
    """serve.run(build_app(args)) on this process's Serve instance (:func:`serve_port`); yields
    the base URL and deletes the application after."""
    from ray import serve

    from serve_apps.rag import build_app

    port = serve_port()
    try:
        serve.run(build_app(args), name=APP_NAME, route_prefix="/")
        yield wait_healthy(f"http://127.0.0.1:{port}", ready_timeout_s)
    finally:
        serve.delete(APP_NAME)


@contextmanager
def deployed_app(
    args: dict[str, Any], dashboard: str, name: str, ready_timeout_s: float = 300,
    runtime_env: dict[str, Any] | None = None,
) -> Iterator[str]:
    """The RAG application deployed from a config through Serve's REST API (what `serve deploy`
    and a RayService do, so that a later deploy can change only a user_config), with the config's
    own ``runtime_env`` if given, on this process's Serve instance; yields the URL and deletes
    the application after."""
    from ray import serve
    from ray.dashboard.modules.serve.sdk import ServeSubmissionClient

    port = serve_port()
    try:
        app = {"name": name, "import_path": "serve_apps.rag:build_app", "route_prefix": "/",
               "args": args} | ({"runtime_env": runtime_env} if runtime_env else {})  # fmt: skip
        ServeSubmissionClient(dashboard).deploy_applications(
            {"applications": [app], "http_options": {"host": "127.0.0.1", "port": port}}
        )
        yield wait_healthy(f"http://127.0.0.1:{port}", ready_timeout_s)
    finally:
        serve.delete(name)
