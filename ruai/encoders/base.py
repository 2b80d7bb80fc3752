"""What every encoder offers: one protocol for the index side and the query side."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np


class ModelNotFoundError(RuntimeError):
    """A model is neither a local path nor in the local Hugging Face cache (nothing downloads)."""


@dataclass(slots=True)
class SparseVector:
    indices: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.indices)


@runtime_checkable
class DenseEncoder(Protocol):
    name: str
    dim: int
    max_tokens: int

    def count_tokens(self, text: str) -> int: ...

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """float32 array (len(texts), dim), L2-normalised."""

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """float32 array (len(texts), dim), L2-normalised."""


@runtime_checkable
class SparseEncoder(Protocol):
    name: str

    def encode_passage_lemmas(self, lemmas: list[str]) -> SparseVector: ...

    def encode_passages(self, texts: list[str]) -> list[SparseVector]: ...

    def encode_queries(self, texts: list[str]) -> list[SparseVector]: ...
