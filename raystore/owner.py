"""The owner of an embedded store: a named, detached Ray actor holding the Qdrant Edge shard (or
qdrant-client's local-mode directory), so that ingestion jobs and Serve replicas share it without
two processes ever opening the same files. Its remote methods are LocalStore's, one per
VectorStore method plus ``upsert_rows``: ingestion's Arrow rows arrive as they are (cheap to
serialize) and become points here, since pickling thousands of per-point vectors costs more
than the upsert. An Edge owner also answers searches from its own node over a Unix socket
(raystore/read_socket.py)."""

from __future__ import annotations

import logging

import ray

from raystore.local_store import LocalStore
from raystore.read_socket import ReadSocketAddress, ReadSocketServer
from ruai.settings import Settings

logger = logging.getLogger(__name__)


class ShardOwner(LocalStore):
    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        # Edge queries run concurrently with the owner's own calls (EdgeStore's guard covers
        # writes); qdrant-client's local mode is not safe across threads
        self._reads: ReadSocketServer | None = None
        if settings.store_read_socket and settings.store_backend == "edge":
            try:
                self._reads = ReadSocketServer(self.search)
            except OSError as exc:  # e.g. no writable temp dir: searches stay Ray calls
                logger.warning("the store owner serves no read socket: %s", exc)

    def read_socket(self) -> ReadSocketAddress | None:
        """Where processes on this node send searches, or None (answer through Ray calls)."""
        if self._reads is None:
            return None
        return ReadSocketAddress(ray.get_runtime_context().get_node_id(), self._reads.path)

    def close(self) -> None:
        if self._reads is not None:
            self._reads.close()
            self._reads = None
        super().close()


StoreOwner = ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=-1)(ShardOwner)
