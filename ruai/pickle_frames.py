"""Length-prefixed pickles between processes of one user: a 4-byte big-endian length, then the
pickle. The killable parsing child (ruai/ingest/isolated_extraction.py) and the store owner's read
socket (raystore/read_socket.py) speak it."""

from __future__ import annotations

import os
import pickle
import select
import struct
import time
from typing import Any

HEADER = struct.Struct("!I")


def frame(obj: Any) -> bytes:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


def _read_exact(fd: int, size: int, deadline: float | None) -> bytes | None:
    """``size`` bytes from ``fd``; None at end of file or when the deadline passes."""
    parts: list[bytes] = []
    while size:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
        part = os.read(fd, min(size, 1 << 20))
        if not part:
            return None
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def read_frame(fd: int, deadline: float | None = None) -> Any:
    """The next object from ``fd`` (a pipe or a socket); None at end of file or past
    ``deadline`` (a ``time.monotonic()`` value)."""
    header = _read_exact(fd, HEADER.size, deadline)
    if header is None:
        return None
    body = _read_exact(fd, HEADER.unpack(header)[0], deadline)
    return None if body is None else pickle.loads(body)
