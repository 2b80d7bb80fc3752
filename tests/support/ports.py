"""Free TCP ports for the servers the tests start on localhost."""

from __future__ import annotations

import os
import random
import socket

# Ports for the servers tests start come from below the kernel's ephemeral range (32768-60999),
# which outgoing connections draw from: a port picked there by binding port 0 could be taken by
# a client before the server started much later binds it. 10002-19999 are Ray's worker ports;
# each pytest-xdist worker draws from its own half of 20000-29999.
_PORTS = range(20000, 30000)
# handed out already: a port picked now may be bound much later (Serve's fixed ports are picked
# when tests/conftest.py is imported and bound when a test starts Serve), so "nothing listens on
# it" alone would let a later pick in the same process take it again
_given: set[int] = set()


def free_port() -> int:
    """A port nothing listens on now and not handed out before, from this process's share of
    the range."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    halved = worker.startswith("gw")
    span = len(_PORTS) // 2 if halved else len(_PORTS)
    start = _PORTS.start + (span * (int(worker[2:]) % 2) if halved else 0)
    for _ in range(200):
        port = start + random.randrange(span)
        if port in _given:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            _given.add(port)
            return port
    raise RuntimeError(f"no free port in {start}-{start + span - 1}")
