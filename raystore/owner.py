"""The owner of an embedded store: a named, detached Ray actor holding the Qdrant Edge shard (or
qdrant-client's local-mode directory), so that ingestion jobs and Serve replicas share it without
two processes ever opening the same files. Its remote methods are LocalStore's, one per
VectorStore method plus ``upsert_rows``: ingestion's Arrow rows arrive as they are (cheap to
serialize) and become points here, since pickling thousands of per-point vectors costs more
than the upsert."""

from __future__ import annotations

import ray

from raystore.local_store import LocalStore

StoreOwner = ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=-1)(LocalStore)
