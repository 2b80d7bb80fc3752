"""One TLS context per process for the platform's outgoing HTTP calls.

httpx builds an SSL context (the CA bundle loaded: ~25 ms of CPU) for every client it creates,
even for an http:// URL; code that opens a client per call (the agents' model and tool calls, a
JWKS fetch, `jobs.ask` polling the service's health) hands it this one instead. Built as httpx
builds its default (certifi's bundle, SSL_CERT_FILE / SSL_CERT_DIR honoured).
"""

from __future__ import annotations

import functools
import ssl


@functools.cache
def tls_context() -> ssl.SSLContext:
    import httpx

    return httpx.create_ssl_context()
