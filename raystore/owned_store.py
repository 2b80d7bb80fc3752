"""OwnedStore: the VectorStore of a process that reaches the embedded shard through its owner
actor. Every method has a blocking form (drivers, jobs) and an ``_async`` twin awaited on the
caller's event loop (Serve replicas: no thread parked in ``ray.get``). ``search_async`` goes
over the owner's Unix socket when the caller is on the owner's node (raystore/read_socket.py),
else, and whenever that socket is gone, through a Ray call."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import ray

from raystore.forwarding import forwards_store
from raystore.read_socket import ReadSocketClient, ReadSocketDown
from ruai.store.base import CollectionVersion, Hit, SearchRequest, StoreError

RETRY_SOCKET_S = 10.0  # how often to ask again after the owner's socket could not be used


def _owner_down(exc: ray.exceptions.RayActorError) -> StoreError:
    # e.g. the shard is locked by another process, or the owner's node is gone
    return StoreError(f"the store owner actor is unavailable: {exc}")


def _get(ref: ray.ObjectRef) -> Any:
    try:
        return ray.get(ref)
    except ray.exceptions.RayActorError as exc:
        raise _owner_down(exc) from exc


async def _await(ref: ray.ObjectRef) -> Any:
    try:
        return await ref
    except ray.exceptions.RayActorError as exc:
        raise _owner_down(exc) from exc


def _through_the_owner(store: OwnedStore, name: str, args: tuple, kwargs: dict) -> Any:
    return _get(getattr(store._owner, name).remote(*args, **kwargs))


@forwards_store(_through_the_owner)
class OwnedStore:
    def __init__(self, owner: ray.actor.ActorHandle, read_socket: bool = True) -> None:
        self._owner = owner
        self._socket_wanted = read_socket
        self._next_ask = 0.0  # time.monotonic() from which to ask the owner for its socket
        self._reads: ReadSocketClient | None = None
        self._unreachable: str | None = None  # a socket this process failed to use

    # --- the VectorStore protocol: forwarded to the owner (see the decorator) ------------

    def delete_docs(self, collection: str, versions: Mapping[str, str | None]) -> None:
        _get(self._owner.delete_docs.remote(collection, dict(versions)))  # a Mapping may not pickle

    def set_access(self, collection: str, tenant: str, access: Mapping[str, list[str]]) -> None:
        _get(self._owner.set_access.remote(collection, tenant, dict(access)))  # as delete_docs

    def close(self) -> None:
        """The owner keeps the store open for other users; `raystore.release_store` closes it."""

    # --- beyond the protocol --------------------------------------------------------------

    def upsert_rows(self, collection: str, table: pa.Table) -> int:
        """Ingestion's chunk rows, decoded into points by the owner."""
        return _get(self._owner.upsert_rows.remote(collection, table))

    # --- async twins (Serve) --------------------------------------------------------------

    @property
    def read_socket_path(self) -> str | None:
        """The owner's socket this store's searches go over, once a search has asked for it."""
        return None if self._reads is None else self._reads.path

    async def _read_socket(self) -> ReadSocketClient | None:
        if self._reads is None and self._socket_wanted and time.monotonic() >= self._next_ask:
            self._next_ask = time.monotonic() + RETRY_SOCKET_S
            address = await _await(self._owner.read_socket.remote())
            if address is None or address.node_id != ray.get_runtime_context().get_node_id():
                self._socket_wanted = False  # no socket, or another node's: Ray calls for good
            elif address.path != self._unreachable:
                # (unreachable from here: e.g. a worker in a container of its own shares the
                # node, not the owner's /tmp; a restarted owner has a new path)
                self._reads = ReadSocketClient(address.path)
        return self._reads

    async def search_async(self, collection: str, request: SearchRequest) -> list[Hit]:
        reads = await self._read_socket()
        if reads is not None:
            try:
                return await reads.search(collection, request)
            except ReadSocketDown:  # e.g. the owner restarted: ask for its new socket next time
                reads.close()
                self._reads, self._unreachable, self._next_ask = None, reads.path, 0.0
        return await _await(self._owner.search.remote(collection, request))

    async def count_async(self, collection: str, tenant: str | None = None) -> int:
        return await _await(self._owner.count.remote(collection, tenant))

    async def readable_docs_async(
        self, collection: str, tenant: str, doc_ids: list[str], access: frozenset[str] | None
    ) -> list[str]:
        return await _await(self._owner.readable_docs.remote(collection, tenant, doc_ids, access))

    async def collection_exists_async(self, collection: str) -> bool:
        return await _await(self._owner.collection_exists.remote(collection))

    async def version_of_async(self, collection: str) -> CollectionVersion:
        return await _await(self._owner.version_of.remote(collection))
