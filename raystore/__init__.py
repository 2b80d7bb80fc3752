"""How any Ray process reaches the vector store: ingestion (pipelines/), serving (serve_apps/),
jobs/ and benchmarks/ all call ``store_for(settings)``.

- An embedded store (Qdrant Edge, or qdrant-client's local mode without a URL) lives in one
  process: the named, detached ``StoreOwner`` actor pinned to this node; the caller gets an
  ``OwnedStore`` whose calls run in that actor (Serve's searches from the owner's node over its
  Unix socket, raystore/read_socket.py).
- A Qdrant server needs no owner: the caller gets a ``DirectStore`` on its own connection.

Both implement ``ruai.store.base.VectorStore`` plus ``upsert_rows`` (ingestion's Arrow chunk
rows) and ``search_async`` / ``count_async`` / ``collection_exists_async`` for Serve.
"""

from __future__ import annotations

import hashlib

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from raystore.direct_store import DirectStore
from raystore.owned_store import OwnedStore
from raystore.owner import StoreOwner
from ruai.settings import Settings

NAMESPACE = "ruai"
RayStore = OwnedStore | DirectStore

__all__ = [
    "NAMESPACE",
    "DirectStore",
    "OwnedStore",
    "RayStore",
    "embedded",
    "owner_name",
    "release_store",
    "store_for",
    "with_absolute_paths",
]


def embedded(settings: Settings) -> bool:
    """True when the store lives in one process's files (it needs an owner in a cluster)."""
    return settings.store_backend == "edge" or not settings.qdrant_url


def with_absolute_paths(settings: Settings) -> Settings:
    """Actors and `ray job submit` drivers run in other working directories: pin the path."""
    paths = ("qdrant_path", "conversations_path", "query_log_dir")
    return settings.model_copy(
        update={name: getattr(settings, name).expanduser().resolve() for name in paths}
    )


def owner_name(settings: Settings) -> str:
    key = f"{settings.store_backend}:{with_absolute_paths(settings).qdrant_path}"
    return "ruai-store-" + hashlib.sha1(key.encode()).hexdigest()[:12]


def store_for(settings: Settings) -> RayStore:
    """The store for this process: direct for a Qdrant server or without Ray, else the owner's
    (started on this node if it is not running yet)."""
    if not embedded(settings) or not ray.is_initialized():
        return DirectStore(settings)
    settings = with_absolute_paths(settings)
    owner = StoreOwner.options(
        name=owner_name(settings),
        namespace=NAMESPACE,
        lifetime="detached",
        get_if_exists=True,
        # the shard lives on this node's disk: pin its owner here
        scheduling_strategy=NodeAffinitySchedulingStrategy(
            node_id=ray.get_runtime_context().get_node_id(), soft=False
        ),
    ).remote(settings)
    return OwnedStore(owner, read_socket=settings.store_read_socket)


def release_store(settings: Settings) -> None:
    """Flush, close and remove the owner (when the Ray cluster was started just for this run)."""
    if not embedded(settings) or not ray.is_initialized():
        return
    try:
        owner = ray.get_actor(owner_name(settings), namespace=NAMESPACE)
    except ValueError:
        return
    ray.get(owner.close.remote())
    ray.kill(owner, no_restart=True)
