"""The VectorStore protocol forwarded, method by method, to wherever a proxy's store lives: the
protocol (ruai/store/base.py) is written once, and each proxy says only how one call travels."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from ruai.store.base import VectorStore, store_methods

Proxy = TypeVar("Proxy", bound=type)
# (the proxy, the method's name, its positional and keyword arguments) -> the method's result
Forward = Callable[[Any, str, tuple, dict], Any]


def forwards_store(forward: Forward) -> Callable[[Proxy], Proxy]:
    """A class decorator: every VectorStore method the class does not define itself becomes one
    that calls ``forward(self, name, args, kwargs)``, with the protocol's signature and doc (Ray
    reads an actor method's signature from it)."""

    def decorate(cls: Proxy) -> Proxy:
        for name in store_methods():
            if name not in vars(cls):
                setattr(cls, name, _forwarding(cls, name, forward))
        return cls

    return decorate


def _forwarding(cls: type, name: str, forward: Forward) -> Callable[..., Any]:
    @functools.wraps(getattr(VectorStore, name))
    def method(self, *args: Any, **kwargs: Any) -> Any:
        return forward(self, name, args, kwargs)

    method.__qualname__ = f"{cls.__qualname__}.{name}"
    return method
