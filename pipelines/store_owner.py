"""One owner per embedded store: a named, detached Ray actor that holds the Qdrant Edge shard (or
the qdrant-client local-mode directory) so that ingestion jobs and Serve replicas share it without
two processes ever opening the same files. A Qdrant server needs no owner: every process connects.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pyarrow as pa
import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from ruai.settings import Settings
from ruai.store.base import StoreError, VectorStore
from ruai.store.factory import open_store

NAMESPACE = "ruai"


def embedded(settings: Settings) -> bool:
    return settings.store_backend == "edge" or not settings.qdrant_url


def with_absolute_paths(settings: Settings) -> Settings:
    """Actors and `ray job submit` drivers run in other working directories: pin the path."""
    paths = ("qdrant_path", "conversations_path")
    return settings.model_copy(
        update={name: getattr(settings, name).expanduser().resolve() for name in paths}
    )


def owner_name(settings: Settings) -> str:
    key = f"{settings.store_backend}:{with_absolute_paths(settings).qdrant_path}"
    return "ruai-store-" + hashlib.sha1(key.encode()).hexdigest()[:12]


@ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=-1)
class StoreOwner:
    def __init__(self, settings: Settings) -> None:
        self._store = open_store(settings)

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return getattr(self._store, method)(*args, **kwargs)

    def upsert_chunk_rows(self, collection: str, table: pa.Table) -> int:
        from pipelines.ingest_stages import points_from_table

        return self._store.upsert(collection, points_from_table(table))

    def close(self) -> None:
        self._store.close()


class StoreHandle:
    """A VectorStore whose every call runs in the owner actor."""

    _METHODS = frozenset(
        name for name in dir(VectorStore) if not name.startswith("_") and name != "close"
    )

    def __init__(self, actor: ray.actor.ActorHandle) -> None:
        self._actor = actor

    def __getattr__(self, name: str):
        if name not in self._METHODS:
            raise AttributeError(name)

        def remote_call(*args: Any, **kwargs: Any) -> Any:
            return self._get(self._actor.call.remote(name, *args, **kwargs))

        return remote_call

    async def acall(self, method: str, *args: Any) -> Any:
        """``method`` awaited on the caller's event loop (no thread parked in ``ray.get``)."""
        if method not in self._METHODS:
            raise AttributeError(method)
        try:
            return await self._actor.call.remote(method, *args)
        except ray.exceptions.RayActorError as exc:
            raise StoreError(f"the store owner actor is unavailable: {exc}") from exc

    def upsert_chunk_rows(self, collection: str, table: pa.Table) -> int:
        """Ingestion's Arrow rows go to the owner as they are (cheap to serialize) and become
        points there: pickling thousands of per-point vectors costs more than the upsert."""
        return self._get(self._actor.upsert_chunk_rows.remote(collection, table))

    @staticmethod
    def _get(ref: ray.ObjectRef) -> Any:
        try:
            return ray.get(ref)
        except ray.exceptions.RayActorError as exc:  # e.g. the shard is locked elsewhere
            raise StoreError(f"the store owner actor is unavailable: {exc}") from exc

    def close(self) -> None:
        """The owner keeps the store open for other users; `release_owner` closes it."""


def upsert_chunk_rows(store: VectorStore, collection: str, table: pa.Table) -> int:
    """Write ingestion's chunk rows: through the owner when there is one, else directly."""
    if isinstance(store, StoreHandle):
        return store.upsert_chunk_rows(collection, table)
    from pipelines.ingest_stages import points_from_table

    return store.upsert(collection, points_from_table(table))


def connect_store(settings: Settings) -> VectorStore:
    """The store for this process: direct for a Qdrant server or without Ray, else the owner's."""
    if not embedded(settings) or not ray.is_initialized():
        return open_store(settings)
    settings = with_absolute_paths(settings)
    actor = StoreOwner.options(
        name=owner_name(settings),
        namespace=NAMESPACE,
        lifetime="detached",
        get_if_exists=True,
        # the shard lives on this node's disk: pin its owner here
        scheduling_strategy=NodeAffinitySchedulingStrategy(
            node_id=ray.get_runtime_context().get_node_id(), soft=False
        ),
    ).remote(settings)
    return StoreHandle(actor)


def release_owner(settings: Settings) -> None:
    """Flush, close and remove the owner (when the Ray cluster was started just for this run)."""
    if not embedded(settings) or not ray.is_initialized():
        return
    try:
        actor = ray.get_actor(owner_name(settings), namespace=NAMESPACE)
    except ValueError:
        return
    ray.get(actor.close.remote())
    ray.kill(actor, no_restart=True)
