"""Calls from the ingress to the other deployments: a deadline per call, and the replica's own
exception out of Ray's wrapper."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


class UpstreamTimeoutError(TimeoutError):
    pass


def cause(exc: BaseException) -> BaseException:
    """The replica's original exception inside Ray's RayTaskError wrapper."""
    return getattr(exc, "cause", None) or exc


async def within(awaitable: Awaitable[T], seconds: float, setting: str) -> T:
    """The awaitable's result, or UpstreamTimeoutError (cancelling it) after ``seconds``."""
    try:
        return await asyncio.wait_for(awaitable, seconds)
    except TimeoutError as exc:
        raise UpstreamTimeoutError(f"no answer within {seconds:g} s (setting {setting})") from exc
