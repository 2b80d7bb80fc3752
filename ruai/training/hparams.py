"""Hyper-parameters of one embedder fine-tuning run: Settings defaults, job or trial overrides."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ruai.settings import Settings


@dataclass(frozen=True, slots=True)
class EmbedderHParams:
    epochs: int
    batch_size: int
    learning_rate: float
    warmup_ratio: float
    max_seq_length: int
    scale: float
    seed: int

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> EmbedderHParams:
        values = {
            "epochs": settings.train_epochs,
            "batch_size": settings.train_batch_size,
            "learning_rate": settings.train_learning_rate,
            "warmup_ratio": settings.train_warmup_ratio,
            "max_seq_length": settings.train_max_seq_length,
            "scale": settings.train_mnrl_scale,
            "seed": settings.train_seed,
        }
        unknown = set(overrides) - set(values)
        if unknown:
            raise ValueError(f"unknown hyper-parameters {sorted(unknown)}; known: {sorted(values)}")
        values |= {k: v for k, v in overrides.items() if v is not None}
        return cls.from_dict(values)

    @classmethod
    def from_dict(cls, values: dict) -> EmbedderHParams:
        names = {f.name for f in fields(cls)}
        hp = cls(**{k: v for k, v in values.items() if k in names})
        if hp.batch_size < 2:
            raise ValueError(
                f"batch_size={hp.batch_size}: in-batch negatives need at least 2 pairs per batch"
            )
        if hp.learning_rate <= 0 or hp.epochs < 1:
            raise ValueError(f"learning_rate must be > 0 and epochs >= 1, got {hp}")
        return hp

    def to_dict(self) -> dict:
        return asdict(self)

    def steps_per_epoch(self, pairs: int, workers: int = 1) -> int:
        """Optimizer steps each worker takes per epoch over its share of ``pairs``."""
        return max(1, math.ceil(math.ceil(pairs / workers) / self.batch_size))
