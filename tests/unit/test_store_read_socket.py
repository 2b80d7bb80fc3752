"""The store owner's Unix-socket read path (raystore/read_socket.py) against a real Qdrant Edge
shard: the same hits as a direct search, the store's own errors, a server that goes away, and a
request cancelled halfway that must not hand its reply to the next one."""

from __future__ import annotations

import asyncio
import os
import stat
import threading
from pathlib import Path

import numpy as np
import pytest

from raystore.read_socket import (
    ReadSocketClient,
    ReadSocketDown,
    ReadSocketServer,
    remove_stale_sockets,
)
from ruai.encoders.base import SparseVector
from ruai.store import CollectionNotFoundError, PointRecord, SearchRequest
from ruai.store.edge import EdgeStore

DIM = 16


@pytest.fixture
def edge(tmp_path: Path) -> EdgeStore:
    rng = np.random.default_rng(3)
    store = EdgeStore(tmp_path / "qdrant")
    store.ensure_collection("docs", DIM)
    vectors = rng.normal(size=(40, DIM)).astype(np.float32)
    points = [
        PointRecord(
            f"00000000-0000-4000-8000-{i:012d}",
            (vector / np.linalg.norm(vector)).tolist(),
            # distinct sparse weights: no ties among the prefetched candidates, whose order
            # the engine may break either way
            SparseVector([i % 7, 100 + i], [1.0 + i / 100, 0.5]),
            {"text": f"чанк {i}", "doc_id": f"doc{i // 4}", "tenant": "default"},
        )
        for i, vector in enumerate(vectors)
    ]
    store.upsert("docs", points)
    yield store
    store.close()


def _request(seed: int) -> SearchRequest:
    dense = np.random.default_rng(seed).normal(size=DIM).astype(np.float32).tolist()
    return SearchRequest(dense=dense, sparse=SparseVector([seed % 7], [1.0]), limit=5)


def _ranked(hits: list) -> list[tuple[float, str, str]]:
    return sorted((-round(h.score, 6), h.id, h.payload["text"]) for h in hits)


def test_socket_search_returns_what_the_store_returns(edge: EdgeStore) -> None:
    server = ReadSocketServer(edge.search)
    try:
        mode = stat.S_IMODE(os.stat(Path(server.path).parent).st_mode)
        assert mode == 0o700, "only the owner's user may reach the socket"
        client = ReadSocketClient(server.path)

        async def both() -> list[tuple[list, list]]:
            pairs = []
            for seed in range(6):  # one connection, reused request after request
                request = _request(seed)
                pairs.append((await client.search("docs", request), edge.search("docs", request)))
            asks = (client.search("docs", _request(s)) for s in range(8))  # 8 connections
            concurrent = await asyncio.gather(*asks)
            pairs += [(hits, edge.search("docs", _request(s))) for s, hits in enumerate(concurrent)]
            return pairs

        for over_socket, direct in asyncio.run(both()):
            # hits of equal fused score may come in either order (rank fusion ties often)
            assert _ranked(over_socket) == _ranked(direct)
            assert [h.score for h in over_socket] == pytest.approx([h.score for h in direct])
            assert len(over_socket) == 5
    finally:
        server.close()


def test_the_stores_errors_arrive_as_themselves(edge: EdgeStore) -> None:
    server = ReadSocketServer(edge.search)
    try:
        client = ReadSocketClient(server.path)
        with pytest.raises(CollectionNotFoundError):
            asyncio.run(client.search("no_such_collection", _request(0)))
        assert asyncio.run(client.search("docs", _request(1)))  # the connection still works
    finally:
        server.close()


def test_a_closed_server_is_reported_as_down(edge: EdgeStore) -> None:
    server = ReadSocketServer(edge.search)
    client = ReadSocketClient(server.path)

    async def before_and_after() -> None:
        assert await client.search("docs", _request(0))
        server.close()
        with pytest.raises(ReadSocketDown):
            await client.search("docs", _request(1))  # the kept connection is gone
        with pytest.raises(ReadSocketDown):
            await client.search("docs", _request(2))  # and no new one can be opened

    asyncio.run(before_and_after())
    assert not Path(server.path).parent.exists(), "the socket's directory is removed"


def test_a_cancelled_request_does_not_answer_the_next_one(edge: EdgeStore) -> None:
    release = threading.Event()

    def slow_search(collection: str, request: SearchRequest):
        release.wait(5)
        return edge.search(collection, request)

    server = ReadSocketServer(slow_search)
    try:
        client = ReadSocketClient(server.path)

        async def cancel_then_ask() -> tuple[list, list]:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(client.search("docs", _request(0)), 0.2)
            release.set()
            return await client.search("docs", _request(5)), edge.search("docs", _request(5))

        over_socket, direct = asyncio.run(cancel_then_ask())
        assert [h.id for h in over_socket] == [h.id for h in direct]
    finally:
        server.close()


def test_sockets_of_owners_that_died_are_removed(tmp_path: Path) -> None:
    import socket as sockets

    dead, live = tmp_path / "ruai-store-dead", tmp_path / "ruai-store-live"
    dead.mkdir()
    live.mkdir()
    with sockets.socket(sockets.AF_UNIX, sockets.SOCK_STREAM) as gone:
        gone.bind(str(dead / "search.sock"))  # bound, never listening: what a killed owner leaves
    with sockets.socket(sockets.AF_UNIX, sockets.SOCK_STREAM) as listening:
        listening.bind(str(live / "search.sock"))
        listening.listen()
        assert remove_stale_sockets(tmp_path) == 1
    assert not dead.exists()
    assert (live / "search.sock").exists()
