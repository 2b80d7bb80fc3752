"""Canary guardrails: per-arm sliding windows of requests, errors and latencies.

An arm whose error rate or p95 latency over the last ``window_s`` seconds breaks its limits, once
it has at least ``min_requests`` requests in the window, is reported as tripped; the caller sets
its weight to 0 (``Experiment.with_weights``), logs and counts it. Samples older than the window
drop out, so an arm whose bad period has passed stops being reported.
"""

from __future__ import annotations

import math
import time
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


class Guard:
    """Not thread-safe: one per replica, fed from its event loop."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._samples: dict[str, deque[tuple[float, float, bool]]] = {}

    def record(self, arm: str, latency_s: float, error: bool = False) -> None:
        self._samples.setdefault(arm, deque()).append((self._clock(), latency_s, error))

    def _window(self, arm: str) -> deque[tuple[float, float, bool]]:
        samples = self._samples.get(arm, deque())
        horizon = self._clock() - self.limits.window_s
        while samples and samples[0][0] <= horizon:
            samples.popleft()
        return samples

    def check(self, arm: str) -> Trip | None:
        samples = self._window(arm)
        if len(samples) < self.limits.min_requests:
            return None
        error_rate = sum(e for _, _, e in samples) / len(samples)
        slow = p95([latency for _, latency, _ in samples])
        reasons = []
        if error_rate > self.limits.max_error_rate:
            reasons.append(f"error rate {error_rate:.3f} > {self.limits.max_error_rate:.3f}")
        if slow > self.limits.max_p95_s:
            reasons.append(f"p95 latency {slow:.3f}s > {self.limits.max_p95_s:.3f}s")
        if not reasons:
            return None
        return Trip(arm, tuple(reasons), len(samples), error_rate, slow)

    def tripped(self) -> dict[str, Trip]:
        """Every arm that breaks its limits now, by name."""
        trips = (self.check(arm) for arm in list(self._samples))
        return {t.arm: t for t in trips if t is not None}
