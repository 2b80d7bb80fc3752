"""The promotion rule: the challenger replaces the champion only when it beats it on one
primary metric by at least a margin (higher-is-better metrics, or lower for a loss)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

# metrics are differences of floats (recall (k+1)/n - k/n): a gain equal to the margin can come
# out a rounding error below it
_TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class Decision:
    primary: str
    higher_is_better: bool
    margin: float
    challenger: Mapping[str, float]
    champion: Mapping[str, float]

    @property
    def gain(self) -> float:
        """How much better the challenger is on the primary metric (negative: worse)."""
        delta = self.challenger[self.primary] - self.champion[self.primary]
        return delta if self.higher_is_better else -delta

    @property
    def promote(self) -> bool:
        """A diverged challenger (NaN or infinite score) never wins; a finite one always beats a
        diverged champion, else it must gain at least the margin (up to float rounding)."""
        if not math.isfinite(self.challenger[self.primary]):
            return False
        if not math.isfinite(self.champion[self.primary]):
            return True
        return self.gain >= self.margin - _TOLERANCE

    def rows(self) -> list[tuple[str, float, float, float]]:
        """(metric, champion, challenger, challenger - champion), the primary first."""
        names = [self.primary, *sorted(set(self.challenger) - {self.primary})]
        return [
            (n, self.champion.get(n, math.nan), self.challenger[n],
             self.challenger[n] - self.champion.get(n, math.nan))
            for n in names
        ]  # fmt: skip

    def summary(self) -> str:
        better = "higher" if self.higher_is_better else "lower"
        verdict = "promoted" if self.promote else "refused"
        return (
            f"{verdict}: {self.primary} ({better} is better) gains {self.gain:+.4f}, "
            f"margin {self.margin:.4f}"
        )
