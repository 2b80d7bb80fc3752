"""An append-only sink that never blocks or fails its caller: ``submit`` puts an item into a
bounded in-memory queue (or drops and counts it when the queue is full); one background thread
takes batches (up to ``batch_rows`` items, or what arrived within ``flush_s``) and hands each to
a writer. A writer that raises gets the batch again for up to ``retry_s``, then loses it, counted;
one that hangs (or keeps failing) fills the queue, and later items are dropped, counted. The
caller's path is a ``put_nowait``.

``query_log_sink(settings, replica)`` builds the query log's sink: batched Parquet files under
RUAI_QUERY_LOG_DIR, or rows in PostgreSQL when RUAI_QUERY_LOG_DSN is set
(``ruai/lifecycle/query_log_writers.py``).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from ruai.lifecycle.query_log import QueryRecord
from ruai.lifecycle.query_log_writers import ParquetWriter, PostgresWriter
from ruai.settings import Settings

logger = logging.getLogger(__name__)
T = TypeVar("T")

# reasons a record is lost (the `reason` tag of the ruai_query_log_dropped metric)
QUEUE_FULL = "queue_full"  # the writer is slower than traffic, or stalled
WRITE_ERROR = "write_error"  # the writer raised (unwritable directory, database down)
CLOSED = "closed"  # submitted after close, or still queued when close gave up waiting

Writer = Callable[[Sequence[T]], None]
OnDrop = Callable[[str, int], None]
OnLost = Callable[[Sequence[T]], None]


class BatchingSink(Generic[T]):
    """A bounded queue drained in batches by one daemon thread (started on first submit)."""

    def __init__(
        self,
        writer: Writer[T],
        *,
        name: str,
        queue_size: int = 10_000,
        batch_rows: int = 1_000,
        flush_s: float = 5.0,
        retry_s: float = 0.0,
        on_drop: OnDrop | None = None,
        on_lost: OnLost[T] | None = None,
    ) -> None:
        """``on_drop(reason, count)`` counts what is lost; ``on_lost(items)`` gets the items a
        failed write or a close lost (not those refused by ``submit``: its caller has them)."""
        self.name = name
        self._retry_s = retry_s
        self._writer = writer
        self._queue: queue.Queue[T] = queue.Queue(maxsize=queue_size)
        self._batch_rows = batch_rows
        self._flush_s = flush_s
        self._on_drop = on_drop
        self._on_lost = on_lost
        self.dropped: Counter[str] = Counter()
        self._drop_lock = threading.Lock()
        self.written = 0
        self._closed = threading.Event()
        self._flush_now = threading.Event()
        self._idle = threading.Condition()
        self._in_flight = 0  # items taken off the queue, not yet written or dropped
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    # --- the caller's side (never blocks, never raises) ---------------------------------

    def submit(self, item: T) -> bool:
        """Queue ``item``; False (and counted) when it was dropped."""
        if self._closed.is_set():
            self.count_drop(CLOSED, 1)
            return False
        if self._thread is None:
            self._start()
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.count_drop(QUEUE_FULL, 1)
            return False
        return True

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Write what is queued now; True when the queue drained within ``timeout_s``."""
        self._flush_now.set()
        deadline = time.monotonic() + timeout_s
        with self._idle:
            while self._queue.unfinished_tasks or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(min(left, 0.05))
                self._flush_now.set()
        return True

    def close(self, timeout_s: float = 10.0) -> None:
        """Flush, stop the thread; whatever is still queued after ``timeout_s`` is dropped."""
        if self._closed.is_set():
            return
        self.flush(timeout_s)
        self._closed.set()
        self._flush_now.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        left: list[T] = []
        while True:
            try:
                left.append(self._queue.get_nowait())
            except queue.Empty:
                break
            self._queue.task_done()
        if left:
            self.count_drop(CLOSED, len(left))
            self._lose(left)

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    # --- the background thread ----------------------------------------------------------

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"{self.name}-writer", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while not self._closed.is_set():
            batch = self._next_batch()
            if batch:
                self._write(batch)

    def _next_batch(self) -> list[T]:
        """Up to batch_rows items: waits until the batch is full, flush_s passed since its first
        item, a flush is asked for, or the sink closes."""
        batch: list[T] = []
        deadline: float | None = None
        while len(batch) < self._batch_rows and not self._closed.is_set():
            try:
                item = self._queue.get(timeout=0.05)
            except queue.Empty:
                if batch and (self._flush_now.is_set() or time.monotonic() >= deadline):
                    break
                if not batch:
                    self._flush_now.clear()
                continue
            with self._idle:
                self._in_flight += 1
                self._queue.task_done()
            batch.append(item)
            if deadline is None:
                deadline = time.monotonic() + self._flush_s
            elif time.monotonic() >= deadline:
                break
        return batch

    def _write(self, batch: list[T]) -> None:
        """Write the batch, retried for up to retry_s (a database restarting) while later
        items wait in the bounded queue; then it is lost, counted and logged."""
        give_up_at, delay = time.monotonic() + self._retry_s, 0.2
        try:
            while True:
                try:
                    self._writer(batch)
                    self.written += len(batch)
                    return
                except Exception as exc:  # a sink failure costs the batch, never the caller
                    if self._closed.is_set() or time.monotonic() + delay > give_up_at:
                        logger.error("%s: lost %d records: %s", self.name, len(batch), exc)
                        self.count_drop(WRITE_ERROR, len(batch))
                        self._lose(batch)
                        return
                    logger.warning("%s: %d records not written yet, retrying in %.1f s: %s",
                                   self.name, len(batch), delay, exc)  # fmt: skip
                    self._closed.wait(delay)
                    delay = min(delay * 2, 5.0)
        finally:
            with self._idle:
                self._in_flight -= len(batch)
                self._idle.notify_all()

    def _lose(self, items: Sequence[T]) -> None:
        if self._on_lost is not None:
            try:
                self._on_lost(items)
            except Exception:
                logger.exception("%s: on_lost failed", self.name)

    def count_drop(self, reason: str, count: int) -> None:
        """Count ``count`` lost records (the caller's thread or the writer's)."""
        with self._drop_lock:
            self.dropped[reason] += count
        if self._on_drop is not None:
            try:
                self._on_drop(reason, count)
            except Exception:  # a broken metric must not break the caller either
                logger.exception("%s: on_drop failed", self.name)


def query_log_sink(
    settings: Settings, replica: str, on_drop: OnDrop | None = None
) -> BatchingSink[QueryRecord]:
    """The query log of one process: PostgreSQL when RUAI_QUERY_LOG_DSN is set, else Parquet
    files under RUAI_QUERY_LOG_DIR whose names carry ``replica``."""
    writer: Writer[QueryRecord] = (
        PostgresWriter(settings.query_log_dsn, replica=replica)
        if settings.query_log_dsn
        else ParquetWriter(settings.query_log_dir, replica)
    )
    return BatchingSink(
        writer,
        name="query-log",
        queue_size=settings.query_log_queue_size,
        batch_rows=settings.query_log_batch_rows,
        flush_s=settings.query_log_flush_s,
        retry_s=settings.query_log_retry_s,
        on_drop=on_drop,
    )
