"""Canary guardrails: per-arm sliding windows of requests, errors and latencies.

An arm whose error rate or p95 latency over the last ``window_s`` seconds breaks its limits, once
it has at least ``min_requests`` requests in the window, is reported as tripped; the caller sets
its weight to 0 (``Experiment.with_weights``), logs and counts it. Samples older than the window
drop out, so an arm whose bad period has passed stops being reported.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    window_s: float = Field(default=300.0, gt=0)
    min_requests: int = Field(default=50, ge=1)
    max_error_rate: float = Field(default=0.05, ge=0.0, le=1.0)
    max_p95_s: float = Field(default=10.0, gt=0)


@dataclass(frozen=True, slots=True)
class Trip:
    arm: str
    reasons: tuple[str, ...]
    requests: int
    error_rate: float
    p95_s: float


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile (a value that occurred; NaN when empty)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)]


class _Window:
    """One arm's samples in time order, their latencies kept sorted and their errors counted,
    so that a check costs O(log n) instead of a sort of the whole window per request."""

    __slots__ = ("errors", "latencies", "samples")

    def __init__(self) -> None:
        self.samples: deque[tuple[float, float, bool]] = deque()
        self.latencies: list[float] = []
        self.errors = 0

    def add(self, at: float, latency_s: float, error: bool) -> None:
        self.samples.append((at, latency_s, error))
        insort(self.latencies, latency_s)
        self.errors += error

    def expire(self, horizon: float) -> None:
        while self.samples and self.samples[0][0] <= horizon:
            _, latency_s, error = self.samples.popleft()
            del self.latencies[bisect_left(self.latencies, latency_s)]
            self.errors -= error

    def p95(self) -> float:
        """Nearest rank, as ``p95``."""
        return self.latencies[max(math.ceil(0.95 * len(self.latencies)) - 1, 0)]


class Guard:
    """Not thread-safe: one per replica, fed from its event loop."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._windows: dict[str, _Window] = {}

    def record(self, arm: str, latency_s: float, error: bool = False) -> None:
        self._windows.setdefault(arm, _Window()).add(self._clock(), latency_s, error)

    def check(self, arm: str) -> Trip | None:
        window = self._windows.get(arm)
        if window is None:
            return None
        window.expire(self._clock() - self.limits.window_s)
        requests = len(window.samples)
        if requests < self.limits.min_requests:
            return None
        error_rate = window.errors / requests
        slow = window.p95()
        reasons = []
        if error_rate > self.limits.max_error_rate:
            reasons.append(f"error rate {error_rate:.3f} > {self.limits.max_error_rate:.3f}")
        if slow > self.limits.max_p95_s:
            reasons.append(f"p95 latency {slow:.3f}s > {self.limits.max_p95_s:.3f}s")
        if not reasons:
            return None
        return Trip(arm, tuple(reasons), requests, error_rate, slow)

    def tripped(self) -> dict[str, Trip]:
        """Every arm that breaks its limits now, by name."""
        trips = (self.check(arm) for arm in list(self._windows))
        return {t.arm: t for t in trips if t is not None}
