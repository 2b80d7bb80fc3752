"""QueryEncoder: dense + BM25 query vectors, batched across concurrent requests."""

from __future__ import annotations

from ray import serve

from ruai.encoders.base import SparseVector
from ruai.encoders.factory import build_dense_encoder, build_sparse_encoder
from ruai.settings import Settings
from ruai.text.lemmas import Lemmatizer

QueryVectors = tuple[list[float], SparseVector]


@serve.deployment(max_ongoing_requests=64)
class QueryEncoder:
    def __init__(self, settings: Settings) -> None:
        lemmatizer = Lemmatizer(cache_size=settings.lemma_cache_size)
        self.dense = build_dense_encoder(settings, lemmatizer)
        self.sparse = build_sparse_encoder(settings, lemmatizer)

    # no waiting for a batch to fill: under load, requests queue while one batch is encoded
    @serve.batch(max_batch_size=32, batch_wait_timeout_s=0.0)
    async def encode(self, queries: list[str]) -> list[QueryVectors]:
        dense = self.dense.encode_queries(queries)
        sparse = self.sparse.encode_queries(queries)
        return [(d.tolist(), s) for d, s in zip(dense, sparse, strict=True)]

    async def embed(self, texts: list[str]) -> tuple[list[list[float]], int]:
        """Passage-side dense vectors of ``texts`` and how many tokens they held."""
        tokens = sum(self.dense.count_tokens(text) for text in texts)
        return self.dense.encode_passages(texts).tolist(), tokens

    def dense_model(self) -> str:
        return self.dense.name
