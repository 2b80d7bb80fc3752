"""httpx's one-call functions (``get``, ``post``, ``request``, ``stream``) for the tests' calls to
the apps and servers they start, with the process's one TLS context (ruai/tls.py).

Each httpx one-call function builds a client, and each client builds an SSL context (loading the
CA bundle, ~25 ms of CPU) even for an http:// URL: the suite's test processes spent 37 CPU-s on
that (py-spy, docs/benchmarks.md). A call still gets a client and a connection of its own.
"""

from __future__ import annotations

from typing import Any

import httpx

from ruai.tls import tls_context


def request(method: str, url: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, url, verify=tls_context(), **kwargs)


def get(url: str, **kwargs: Any) -> httpx.Response:
    return request("GET", url, **kwargs)


def post(url: str, **kwargs: Any) -> httpx.Response:
    return request("POST", url, **kwargs)


def stream(method: str, url: str, **kwargs: Any):
    return httpx.stream(method, url, verify=tls_context(), **kwargs)
