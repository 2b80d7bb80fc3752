"""The ingress's two ways to search answer the same awaited calls: ``HandleSearch`` forwards each
of SearchService's (raystore/forwarding.py), so a call added to one cannot be missing from the
other."""

from __future__ import annotations

import asyncio
import inspect

from raystore.forwarding import forwards
from serve_apps.search import SearchService
from serve_apps.search_client import SEARCH_CALLS, HandleSearch


def test_the_handle_answers_every_call_of_the_service() -> None:
    assert set(SEARCH_CALLS) >= {"search", "document", "readable", "check", "embed"}
    for name in SEARCH_CALLS:
        forwarded, declared = getattr(HandleSearch, name), getattr(SearchService, name)
        assert inspect.iscoroutinefunction(forwarded), name
        assert inspect.signature(forwarded) == inspect.signature(declared), name


class Protocol:
    def plain(self, x: int) -> int:
        raise NotImplementedError

    async def awaited(self, x: int, *, y: int = 0) -> int:
        raise NotImplementedError

    def kept(self) -> str:
        raise NotImplementedError


async def _later(value):
    await asyncio.sleep(0)
    return value


def _forward(proxy, name: str, args: tuple, kwargs: dict):
    proxy.calls.append((name, args, kwargs))
    return _later(len(proxy.calls)) if name == "awaited" else len(proxy.calls)


@forwards(Protocol, ("plain", "awaited", "kept"), _forward)
class Proxy:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def kept(self) -> str:
        return "its own"


def test_forwarding_keeps_each_methods_kind_and_the_proxys_own() -> None:
    proxy = Proxy()
    assert proxy.plain(1) == 1
    assert asyncio.run(proxy.awaited(2, y=3)) == 2
    assert proxy.kept() == "its own"
    assert proxy.calls == [("plain", (1,), {}), ("awaited", (2,), {"y": 3})]
    assert not inspect.iscoroutinefunction(Proxy.plain)
    assert inspect.iscoroutinefunction(Proxy.awaited)
    assert Proxy.awaited.__qualname__ == "Proxy.awaited"
