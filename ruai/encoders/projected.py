"""A dense encoder whose queries pass through a learned linear map (``ruai.eval.projection_fit``).

Passages are encoded by the base encoder unchanged, so a collection indexed with the base model
is searched with the projected one as is; queries become ``W q`` re-normalised. Configure it as
``RUAI_DENSE_MODEL=navec-projected:<path to W.npy>`` (a square float matrix of the base's dim).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ruai.encoders.base import DenseEncoder, ModelNotFoundError

PREFIX = "navec-projected:"


def projection_path(dense_model: str) -> Path | None:
    """The ``.npy`` a ``navec-projected:<path>`` model names; None for any other model."""
    if not dense_model.startswith(PREFIX):
        return None
    return Path(dense_model.removeprefix(PREFIX))


def is_navec(dense_model: str) -> bool:
    """navec itself or navec with a query projection: passages are navec vectors either way."""
    return dense_model == "navec" or dense_model.startswith(PREFIX)


def load_projection(path: Path) -> np.ndarray:
    """The matrix saved at ``path`` (its shape is checked against the base encoder's dim)."""
    if not path.is_file():
        raise ModelNotFoundError(f"query projection {path} not found")
    return np.load(path).astype(np.float32)


class ProjectedQueryEncoder:
    def __init__(self, base: DenseEncoder, weights: np.ndarray, name: str) -> None:
        if weights.shape != (base.dim, base.dim):
            raise ValueError(f"projection {weights.shape} does not fit a {base.dim}-d encoder")
        self.base = base
        self.weights = weights
        self.name = name
        self.dim = base.dim
        self.max_tokens = base.max_tokens

    def count_tokens(self, text: str) -> int:
        return self.base.count_tokens(text)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self.base.encode_passages(texts)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return project_queries(self.base.encode_queries(texts), self.weights)


def project_queries(queries: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``W q`` for every row, L2-normalised (zero rows stay zero)."""
    projected = queries @ weights.T
    norms = np.linalg.norm(projected, axis=1, keepdims=True)
    return np.divide(projected, norms, out=np.zeros_like(projected), where=norms > 0)
