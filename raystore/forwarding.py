"""A protocol forwarded, method by method, to wherever a proxy's object lives: the protocol is
written once (the VectorStore of ruai/store/base.py, Serve's SearchService), and each proxy says
only how one call travels."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from ruai.store.base import VectorStore, store_methods

Proxy = TypeVar("Proxy", bound=type)
# (the proxy, the method's name, its positional and keyword arguments) -> the method's result
# (awaited first when the protocol's method is a coroutine function)
Forward = Callable[[Any, str, tuple, dict], Any]


def forwards(protocol: type, names: Iterable[str], forward: Forward) -> Callable[[Proxy], Proxy]:
    """A class decorator: every method of ``protocol`` named in ``names`` that the class does
    not define itself becomes one that calls ``forward(self, name, args, kwargs)``, with the
    protocol's signature and doc (Ray reads an actor method's signature from it); a coroutine
    method of the protocol stays one."""

    def decorate(cls: Proxy) -> Proxy:
        for name in names:
            if name not in vars(cls):
                setattr(cls, name, _forwarding(cls, getattr(protocol, name), forward))
        return cls

    return decorate


def forwards_store(forward: Forward) -> Callable[[Proxy], Proxy]:
    """``forwards`` of the VectorStore protocol."""
    return forwards(VectorStore, store_methods(), forward)


def _forwarding(cls: type, declared: Callable[..., Any], forward: Forward) -> Callable[..., Any]:
    name = declared.__name__
    if inspect.iscoroutinefunction(declared):

        async def method(self, *args: Any, **kwargs: Any) -> Any:
            return await forward(self, name, args, kwargs)

    else:

        def method(self, *args: Any, **kwargs: Any) -> Any:
            return forward(self, name, args, kwargs)

    method = functools.wraps(declared)(method)
    method.__qualname__ = f"{cls.__qualname__}.{name}"
    return method
