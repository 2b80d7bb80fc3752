"""httpx's one-call functions (``get``, ``post``, ``request``, ``stream``) for the tests' calls to
the apps and servers they start, with one TLS context for all of them.

Each httpx one-call function builds a client, and each client builds an SSL context (loading the
CA bundle, ~25 ms of CPU) even for an http:// URL: the suite's test processes spent 37 CPU-s on
that (py-spy, docs/benchmarks.md). A call still gets a client and a connection of its own.
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx

_TLS = ssl.create_default_context()


def request(method: str, url: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, url, verify=_TLS, **kwargs)


def get(url: str, **kwargs: Any) -> httpx.Response:
    return request("GET", url, **kwargs)


def post(url: str, **kwargs: Any) -> httpx.Response:
    return request("POST", url, **kwargs)


def stream(method: str, url: str, **kwargs: Any):
    return httpx.stream(method, url, verify=_TLS, **kwargs)
