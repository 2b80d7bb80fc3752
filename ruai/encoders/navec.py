"""Offline Russian dense encoder: SIF-weighted mean of navec word vectors shipped in natasha.

A text's vector sums the vectors of its surface words and of their lemmas (both are in navec's
lower-cased vocabulary; stop words dropped), each weighted by the smooth inverse frequency
``a / (a + p(w))`` with ``p(w)`` from the corpus counts navec ships. The frequency-weighted mean
of the whole vocabulary (the component every text shares) is projected out, and the result is
L2-normalised.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np

from ruai.encoders.base import ModelNotFoundError
from ruai.encoders.navec_vectors import NavecVectors, release_freed_heap
from ruai.text.lemmas import Lemmatizer

_NATASHA_EMBEDDING = Path("data") / "emb" / "navec_news_v1_1B_250K_300d_100q.tar"
_TEXTS_PER_CHUNK = 64


def natasha_navec_path() -> Path:
    """The navec news embedding bundled inside the installed natasha package."""
    spec = importlib.util.find_spec("natasha")
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            "RUAI_DENSE_MODEL=navec needs the natasha package (it ships the navec vectors); "
            "install natasha, or set RUAI_DENSE_MODEL to a local sentence-transformers model"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / _NATASHA_EMBEDDING
    if not path.is_file():
        raise ModelNotFoundError(
            f"natasha is installed but its navec vectors are missing ({path}); reinstall "
            "natasha, or set RUAI_DENSE_MODEL to a local sentence-transformers model"
        )
    return path


class NavecEncoder:
    name = "navec"
    max_tokens = 512  # navec has no context limit; this only bounds chunk size

    def __init__(
        self,
        lemmatizer: Lemmatizer | None = None,
        *,
        path: str | Path | None = None,
        sif_a: float = 1e-4,
        remove_common_component: bool = True,
    ) -> None:
        navec_path = Path(path) if path is not None else natasha_navec_path()
        if not navec_path.is_file():
            raise ModelNotFoundError(f"navec vectors not found at {navec_path}")
        vectors, self._weights, common = _navec_tables(navec_path.resolve(), sif_a)
        self._vectors = vectors
        self.lemmatizer = lemmatizer or Lemmatizer()
        self.dim = vectors.dim
        # a word's vector is the concatenation of codes[q, indexes[word, q]] over the subspaces q
        subspaces, centroids, subdim = vectors.codes.shape
        self._flat_codes = vectors.codes.reshape(subspaces * centroids, subdim)
        self._subspace_offsets = np.arange(subspaces, dtype=np.intp) * centroids

        self._common: np.ndarray | None = common if remove_common_component else None
        release_freed_heap()

    def count_tokens(self, text: str) -> int:
        return len(self.lemmatizer.words(text))

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)

    def _encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Chunks keep the per-token gather small enough to stay in cache.
        for start in range(0, len(texts), _TEXTS_PER_CHUNK):
            chunk = texts[start : start + _TEXTS_PER_CHUNK]
            out[start : start + len(chunk)] = self._weighted_sums(chunk)
        if self._common is not None:
            out -= np.outer(out @ self._common, self._common)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out

    def _weighted_sums(self, texts: list[str]) -> np.ndarray:
        sums = np.zeros((len(texts), self.dim), dtype=np.float32)
        tokens: list[str] = []
        lengths = np.zeros(len(texts), dtype=np.int64)
        for row, text in enumerate(texts):
            words, lemmas = self.lemmatizer.content_words_and_lemmas(text)
            tokens += words
            tokens += lemmas
            lengths[row] = len(words) + len(lemmas)
        ids = self._vectors.lookup(tokens)
        known = ids >= 0
        if known.any():
            token_rows = np.repeat(np.arange(len(texts)), lengths)
            per_row = np.bincount(token_rows[known], minlength=len(texts))
            rows = np.flatnonzero(per_row)
            unique, inverse = np.unique(ids[known], return_inverse=True)
            weighted = self._decode(unique) * self._weights[unique, None]
            starts = np.concatenate(([0], np.cumsum(per_row[rows])[:-1]))
            sums[rows] = np.add.reduceat(weighted[inverse], starts, axis=0)
        return sums

    def _decode(self, ids: np.ndarray) -> np.ndarray:
        rows = self._vectors.indexes[ids].astype(np.intp) + self._subspace_offsets  # (n, subspaces)
        return np.take(self._flat_codes, rows, axis=0).reshape(len(ids), self.dim)


@functools.lru_cache(maxsize=4)
def _navec_tables(path: Path, sif_a: float) -> tuple[NavecVectors, np.ndarray, np.ndarray]:
    """The vectors of ``path``, each word's SIF weight and the frequency-weighted mean of the
    vocabulary (L2-normalised): read once per file in a process (~0.4 CPU-s), however many
    encoders it builds (read-only: the encoders share them)."""
    vectors = NavecVectors.open(path)
    counts = np.asarray(vectors.counts, dtype=np.float64)
    frequency = counts / counts.sum()
    weights = (sif_a / (sif_a + frequency)).astype(np.float32)
    # Summed per subspace: the mass of each centroid times the centroid, no full decode.
    indexes, codes = vectors.indexes, vectors.codes
    subspaces, centroids, subdim = codes.shape
    mass = np.stack(
        [
            np.bincount(indexes[:, q], weights=frequency, minlength=centroids)
            for q in range(subspaces)
        ]
    )
    mean = np.einsum("qk,qkd->qd", mass, codes).reshape(subspaces * subdim).astype(np.float32)
    return vectors, weights, mean / np.linalg.norm(mean)
