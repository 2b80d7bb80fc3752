"""Admission control of the ingress, inside the app so that an overload answers in OpenAI's error
shape with ``Retry-After`` (Serve's own backpressure answers plain text): at most ``ongoing``
requests run, ``queued`` more wait, the next one is a 503 at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from serve_apps.errors import ApiError


class Admission:
    def __init__(self, ongoing: int, queued: int) -> None:
        self._running = asyncio.Semaphore(ongoing)
        self.capacity = ongoing + queued
        self.inside = 0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self.inside >= self.capacity:
            raise ApiError(
                503, f"the server is at capacity ({self.capacity} requests), retry later",
                "service_unavailable", "overloaded",
            )  # fmt: skip
        self.inside += 1
        try:
            async with self._running:
                yield
        finally:
            self.inside -= 1
