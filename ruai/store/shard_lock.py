"""One process per Qdrant Edge shard: an exclusive ``flock`` on a lock file inside the shard dir.

The kernel drops the lock when the holder closes it or exits (even on SIGKILL), so a crashed
owner never leaves a stale lock behind. The holder's pid is written into the file so that the
refusal can say who holds it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from ruai.store.base import StoreError

LOCK_FILE_NAME = ".ruai-shard.lock"


class ShardLockedError(StoreError):
    """Another process (or another EdgeStore in this one) already has the shard open."""


class ShardLock:
    def __init__(self, shard_dir: Path) -> None:
        self.shard_dir = Path(shard_dir)
        self.path = self.shard_dir / LOCK_FILE_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        if self._fd is not None:
            return
        self.shard_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ShardLockedError(self._refusal()) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def _holder_pid(self) -> int | None:
        try:
            text = self.path.read_text(encoding="ascii").strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def _refusal(self) -> str:
        pid = self._holder_pid()
        if pid == os.getpid():
            who = f"another EdgeStore in this process (pid {pid}); share one store object instead"
        else:
            who = f"another process (pid {pid if pid is not None else 'unknown'})"
        return (
            f"Qdrant Edge shard at {self.shard_dir} is already open by {who}. "
            "A shard lives in exactly one process: in a Ray cluster all access goes through "
            "the store owner actor."
        )

    def __enter__(self) -> ShardLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()
