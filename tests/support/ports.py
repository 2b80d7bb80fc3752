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


def free_port() -> int:
    """A port nothing listens on now, from this process's share of the range."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    halved = worker.startswith("gw")
    span = len(_PORTS) // 2 if halved else len(_PORTS)
    start = _PORTS.start + (span * (int(worker[2:]) % 2) if halved else 0)
    for _ in range(200):
        port = start + random.randrange(span)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {start}-{start + span - 1}")
