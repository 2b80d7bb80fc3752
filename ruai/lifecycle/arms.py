"""A/B and canary experiments: arms with integer traffic weights and sticky assignment.

A request's key (its API key, else the request's ``user`` field) hashes with SHA-256 together
with the experiment's name to a 64-bit point; the arms own consecutive slices of that range in
declaration order, each as wide as its share of the weights. The point depends on nothing but
the two strings, so every replica, process and restart picks the same arm for the same key, and
moving weight from the first arm to a later one (a canary ramp 95/5 → 90/10) only moves keys onto
the growing arm, never between unrelated ones.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Mapping
from itertools import accumulate

from pydantic import BaseModel, ConfigDict, Field, model_validator

_POINT_BITS = 64


class Arm(BaseModel):
    """One variant and what differs from the app's defaults (``None``: the default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    weight: int = Field(ge=0)
    adapter: str | None = None  # LoRA adapter name or models:/… URI
    llm: str | None = None  # base LLM
    collection: str | None = None  # collection (version) to search
    dense_weight: float | None = Field(default=None, ge=0.0)  # RUAI_DENSE_WEIGHT / the model's
    top_k: int | None = Field(default=None, ge=1)


class Experiment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    arms: tuple[Arm, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_arms(self) -> Experiment:
        names = [a.name for a in self.arms]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"arms: duplicate arm names {duplicates}")
        if not any(a.weight > 0 for a in self.arms):
            raise ValueError("arms: at least one arm needs a weight > 0")
        return self

    def arm(self, name: str) -> Arm:
        for a in self.arms:
            if a.name == name:
                return a
        raise KeyError(f"experiment {self.name!r} has no arm {name!r}")

    def point(self, key: str) -> int:
        """Where ``key`` falls in [0, 2**64): stable across processes (no per-process salt)."""
        digest = hashlib.sha256(f"{self.name}\x00{key}".encode()).digest()
        return int.from_bytes(digest[: _POINT_BITS // 8], "big")

    def assign(self, key: str, override: str | None = None) -> Arm:
        """The arm for ``key``; ``override`` wins when it names an arm (even one at weight 0:
        testers reach a disabled arm on purpose), else it is ignored."""
        if override:
            for a in self.arms:
                if a.name == override:
                    return a
        weights = [a.weight for a in self.arms]
        bounds = list(accumulate(weights))
        target = (self.point(key) * bounds[-1]) >> _POINT_BITS  # integer in [0, total)
        # bisect_right skips zero-width arms: their upper bound equals the previous one
        return self.arms[bisect_right(bounds, target)]

    def with_weights(self, weights: Mapping[str, int]) -> Experiment:
        """A copy with some arms' weights replaced (validated: unknown names, no traffic left)."""
        unknown = sorted(set(weights) - {a.name for a in self.arms})
        if unknown:
            raise KeyError(f"experiment {self.name!r} has no arms {unknown}")
        arms = [a.model_dump() | {"weight": weights.get(a.name, a.weight)} for a in self.arms]
        # type(self): a subclass's own fields (the app's experiment scope) survive
        return type(self).model_validate(self.model_dump() | {"arms": arms})
