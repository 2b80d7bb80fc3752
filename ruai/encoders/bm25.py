"""Sparse BM25 over lemmas, for a Qdrant sparse vector with the IDF modifier.

Qdrant computes IDF from the collection, so passages carry only the saturated term frequency
and queries carry 1.0 per unique term. Both sides lemmatise identically (same Lemmatizer).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable

from ruai.encoders.base import SparseVector
from ruai.text.lemmas import Lemmatizer


def term_id(lemma: str) -> int:
    """A stable 32-bit id for a lemma: the same in every process, run and machine."""
    digest = hashlib.blake2b(lemma.encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "little")


class BM25Encoder:
    name = "bm25"

    def __init__(
        self,
        lemmatizer: Lemmatizer | None = None,
        *,
        k1: float = 1.2,
        b: float = 0.75,
        avg_doc_tokens: float = 60.0,
    ) -> None:
        if k1 <= 0 or not 0 <= b <= 1 or avg_doc_tokens <= 0:
            raise ValueError(
                f"BM25 needs k1 > 0, 0 <= b <= 1 and avg_doc_tokens > 0; got k1={k1}, b={b}, "
                f"avg_doc_tokens={avg_doc_tokens} (RUAI_BM25_K1, RUAI_BM25_B, "
                "RUAI_BM25_AVG_DOC_TOKENS)"
            )
        self.lemmatizer = lemmatizer or Lemmatizer()
        self.k1 = k1
        self.b = b
        self.avg_doc_tokens = avg_doc_tokens

    def encode_passage_lemmas(self, lemmas: list[str]) -> SparseVector:
        """BM25 term-frequency weights of a passage whose lemmas the ingest pipeline computed."""
        tf = _term_counts(lemmas)
        norm = self.k1 * (1.0 - self.b + self.b * len(lemmas) / self.avg_doc_tokens)
        indices = sorted(tf)
        values = [tf[i] * (self.k1 + 1.0) / (tf[i] + norm) for i in indices]
        return SparseVector(indices=indices, values=values)

    def encode_passages(self, texts: list[str]) -> list[SparseVector]:
        return [self.encode_passage_lemmas(self.lemmatizer.lemmas(text)) for text in texts]

    def encode_queries(self, texts: list[str]) -> list[SparseVector]:
        vectors = []
        for text in texts:
            indices = sorted(_term_counts(self.lemmatizer.lemmas(text)))
            vectors.append(SparseVector(indices=indices, values=[1.0] * len(indices)))
        return vectors


def _term_counts(lemmas: Iterable[str]) -> Counter[int]:
    # Counting by id merges lemmas whose hashes collide: Qdrant rejects duplicate indices.
    counts: Counter[int] = Counter()
    for lemma, n in Counter(lemmas).items():
        counts[term_id(lemma)] += n
    return counts
