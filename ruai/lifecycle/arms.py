"""A/B and canary experiments: arms with integer traffic weights and sticky assignment.

A request's key (its API key, else the request's ``user`` field) goes to the arm chosen by
weighted rendezvous (highest-random-weight) hashing: each arm with weight > 0 draws
``u = (first 8 bytes of SHA-256(experiment, key, arm name) + 0.5) / 2**64`` and scores
``-ln(u) / weight``; the smallest score wins, so an arm gets ``weight / total`` of the keys. A
draw depends on nothing but the three strings, so every replica, process and restart picks the
same arm for the same key. Changing one arm's weight only changes that arm's scores: raising it
only moves keys onto it, lowering it only moves keys off it, and keys never move between the
other arms (a canary ramp 95/5 → 90/10 only moves keys onto the canary).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, model_validator

_DRAW_BITS = 64


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

    def score(self, key: str, arm: Arm) -> float:
        """``arm``'s rendezvous score for ``key`` (an arm at weight 0: infinite); stable across
        processes (no per-process salt)."""
        if arm.weight <= 0:
            return math.inf
        digest = hashlib.sha256(f"{self.name}\x00{key}\x00{arm.name}".encode()).digest()
        u = (int.from_bytes(digest[: _DRAW_BITS // 8], "big") + 0.5) / 2**_DRAW_BITS
        return -math.log(u) / arm.weight

    def assign(self, key: str, override: str | None = None) -> Arm:
        """The arm for ``key``; ``override`` wins when it names an arm (even one at weight 0:
        testers reach a disabled arm on purpose), else it is ignored."""
        if override:
            for a in self.arms:
                if a.name == override:
                    return a
        return min((a for a in self.arms if a.weight > 0), key=lambda a: self.score(key, a))

    def with_weights(self, weights: Mapping[str, int]) -> Experiment:
        """A copy with some arms' weights replaced (validated: unknown names, no traffic left)."""
        unknown = sorted(set(weights) - {a.name for a in self.arms})
        if unknown:
            raise KeyError(f"experiment {self.name!r} has no arms {unknown}")
        arms = [a.model_dump() | {"weight": weights.get(a.name, a.weight)} for a in self.arms]
        # type(self): a subclass's own fields (the app's experiment scope) survive
        return type(self).model_validate(self.model_dump() | {"arms": arms})
