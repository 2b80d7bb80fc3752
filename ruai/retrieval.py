"""Query-side retrieval: encode a question (dense + BM25) and run a fused hybrid query."""

from __future__ import annotations

from typing import Literal

from ruai.encoders.base import DenseEncoder, SparseEncoder
from ruai.settings import Settings
from ruai.store.base import FusionConfig, Hit, SearchRequest, VectorStore

Mode = Literal["hybrid", "dense", "sparse"]


def fusion_from(settings: Settings) -> FusionConfig:
    return FusionConfig(
        method=settings.fusion,
        rrf_k=settings.rrf_k,
        dense_weight=settings.dense_weight,
        sparse_weight=settings.sparse_weight,
        prefetch_limit=settings.prefetch_limit,
    )


class Retriever:
    def __init__(
        self,
        settings: Settings,
        store: VectorStore,
        dense: DenseEncoder,
        sparse: SparseEncoder,
        fusion: FusionConfig | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.dense = dense
        self.sparse = sparse
        self.fusion = fusion or fusion_from(settings)

    def request(self, query: str, mode: Mode, tenant: str, limit: int) -> SearchRequest:
        dense = self.dense.encode_queries([query])[0].tolist() if mode != "sparse" else None
        sparse = self.sparse.encode_queries([query])[0] if mode != "dense" else None
        return SearchRequest(
            dense=dense, sparse=sparse, tenant=tenant, limit=limit, fusion=self.fusion
        )

    def search(
        self,
        query: str,
        *,
        collection: str | None = None,
        tenant: str | None = None,
        top_k: int | None = None,
        mode: Mode = "hybrid",
    ) -> list[Hit]:
        request = self.request(
            query, mode, tenant or self.settings.tenant, top_k or self.settings.top_k
        )
        return self.store.search(collection or self.settings.collection, request)
