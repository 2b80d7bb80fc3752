"""The embedded shard's owner actor on a real Ray cluster: a process on the owner's node
searches over the owner's Unix socket and gets what a Ray call returns; when the owner restarts,
the next search falls back to a Ray call and the one after reaches the new socket;
RUAI_STORE_READ_SOCKET=false keeps every search a Ray call."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import ray

from raystore import NAMESPACE, owner_name, store_for
from ruai.encoders.base import SparseVector
from ruai.store import PointRecord, SearchRequest

DIM = 16
COLLECTION = "owned"


def _points() -> list[PointRecord]:
    vectors = np.random.default_rng(5).normal(size=(60, DIM)).astype(np.float32)
    return [
        PointRecord(
            f"00000000-0000-4000-8000-{i:012d}",
            (vector / np.linalg.norm(vector)).tolist(),
            SparseVector([i % 9, 200 + i], [0.5 + 0.01 * i, 0.5]),  # no tied ranks
            {"text": f"чанк {i}", "doc_id": f"doc{i // 6}", "tenant": "default"},
        )
        for i, vector in enumerate(vectors)
    ]


def _requests() -> list[SearchRequest]:
    rng = np.random.default_rng(11)
    return [
        SearchRequest(
            dense=rng.normal(size=DIM).astype(np.float32).tolist(),
            sparse=SparseVector([seed % 9], [1.0]),
            limit=5,
        )
        for seed in range(5)
    ]


@ray.remote(num_cpus=0)
class Asker:
    """A Serve-replica-like process: awaits ``search_async`` on its own event loop."""

    def __init__(self, settings) -> None:
        self.store = store_for(settings)

    async def ask(self, requests: list[SearchRequest]) -> tuple[list[list[str]], str | None]:
        ids = [[hit.id for hit in await self.store.search_async(COLLECTION, r)] for r in requests]
        return ids, self.store.read_socket_path


@pytest.fixture
def owned(make_settings):
    def make(**overrides):
        settings = make_settings(**overrides)
        store = store_for(settings)
        store.ensure_collection(COLLECTION, DIM)
        store.upsert(COLLECTION, _points())
        expected = [[hit.id for hit in store.search(COLLECTION, r)] for r in _requests()]
        return settings, expected

    return make


def test_searches_on_the_owners_node_go_over_its_socket(owned) -> None:
    settings, expected = owned()
    asker = Asker.remote(settings)
    ids, path = ray.get(asker.ask.remote(_requests()))
    assert path is not None and path.endswith(".sock")
    assert ids == expected and all(len(row) == 5 for row in ids)

    owner = ray.get_actor(owner_name(settings), namespace=NAMESPACE)
    ray.kill(owner, no_restart=False)  # the owner restarts and reopens the shard
    deadline = time.monotonic() + 60
    while (new_path := ray.get(owner.read_socket.remote()).path) == path:
        assert time.monotonic() < deadline, "the owner never restarted"
        time.sleep(0.2)  # the kill is asynchronous
    ids, path_after_restart = ray.get(asker.ask.remote(_requests()[:1]))
    assert ids == expected[:1], "the search after a restart is answered through a Ray call"
    assert path_after_restart is None
    ids, path_now = ray.get(asker.ask.remote(_requests()))
    assert ids == expected
    assert path_now == new_path, "the restarted owner's socket is found"


def test_the_socket_can_be_turned_off(owned) -> None:
    settings, expected = owned(store_read_socket=False)
    ids, path = ray.get(Asker.remote(settings).ask.remote(_requests()))
    assert ids == expected
    assert path is None


def test_a_socket_this_process_cannot_use_leaves_it_on_ray_calls(owned, tmp_path) -> None:
    """E.g. a worker in a container of its own: same node, not the owner's /tmp."""
    settings, expected = owned()
    owner = ray.get_actor(owner_name(settings), namespace=NAMESPACE)
    path = ray.get(owner.read_socket.remote()).path
    hidden = tmp_path / "moved.sock"
    os.rename(path, hidden)  # the owner still serves it, but nobody can connect by its path
    try:
        asker = Asker.remote(settings)
        for _ in range(3):
            ids, path_now = ray.get(asker.ask.remote(_requests()))
            assert ids == expected
            assert path_now is None, "searches go through Ray calls"
    finally:
        os.rename(hidden, path)
