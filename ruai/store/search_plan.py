"""Which query a SearchRequest asks for, checked the same way by every backend."""

from __future__ import annotations

from enum import StrEnum

from ruai.store.base import FusionConfig, SearchRequest


class SearchMode(StrEnum):
    DENSE = "dense"
    SPARSE = "sparse"
    HYBRID = "hybrid"


def search_mode(request: SearchRequest) -> SearchMode:
    """DENSE, SPARSE or HYBRID (both vectors given); ValueError for a request no engine runs."""
    if request.limit < 1:
        raise ValueError(f"SearchRequest.limit must be >= 1, got {request.limit}")
    if request.dense is None and request.sparse is None:
        raise ValueError("SearchRequest needs a dense vector, a sparse vector or both")
    if request.dense is None:
        return SearchMode.SPARSE
    if request.sparse is None:
        return SearchMode.DENSE
    check_fusion(request.fusion)
    return SearchMode.HYBRID


def check_fusion(fusion: FusionConfig) -> None:
    if fusion.prefetch_limit < 1:
        raise ValueError(f"prefetch_limit must be >= 1, got {fusion.prefetch_limit}")
    weights = (fusion.dense_weight, fusion.sparse_weight)
    if min(weights) < 0 or max(weights) == 0:
        raise ValueError(
            f"fusion weights must be >= 0 and not both 0, got dense_weight={fusion.dense_weight}, "
            f"sparse_weight={fusion.sparse_weight} (RUAI_DENSE_WEIGHT / RUAI_SPARSE_WEIGHT)"
        )
    if fusion.method == "dbsf" and fusion.dense_weight != fusion.sparse_weight:
        raise ValueError(
            "DBSF fusion takes no weights in Qdrant, yet dense_weight="
            f"{fusion.dense_weight} != sparse_weight={fusion.sparse_weight}: use RUAI_FUSION=rrf "
            "for weighted fusion, or set both weights equal"
        )
    if fusion.method not in ("rrf", "dbsf", "linear"):
        raise ValueError(f"unknown fusion method {fusion.method!r}: use rrf, dbsf or linear")
