"""Open the VectorStore the settings ask for."""

from __future__ import annotations

from ruai.settings import Settings
from ruai.store.base import VectorStore
from ruai.store.hnsw import HnswBuild, HnswSearch


def hnsw_build(settings: Settings) -> HnswBuild:
    return HnswBuild(
        m=settings.hnsw_m,
        ef_construct=settings.hnsw_ef_construct,
        full_scan_threshold_kb=settings.hnsw_full_scan_threshold_kb,
        payload_m=settings.hnsw_payload_m,
        indexing_threshold_kb=settings.hnsw_indexing_threshold_kb,
    )


def hnsw_search(settings: Settings) -> HnswSearch:
    return HnswSearch(ef=settings.search_hnsw_ef, exact=settings.search_exact)


def open_store(settings: Settings) -> VectorStore:
    """``edge`` -> EdgeStore(qdrant_path); ``client`` -> the Qdrant server at qdrant_url, or
    qdrant-client's local mode at qdrant_path when no URL is set. Both get the HNSW settings."""
    hnsw = {"hnsw_build": hnsw_build(settings), "hnsw_search": hnsw_search(settings)}
    if settings.store_backend == "edge":
        from ruai.store.edge import EdgeStore

        return EdgeStore(settings.qdrant_path, **hnsw)
    from ruai.store.client import QdrantClientStore

    if settings.qdrant_url:
        return QdrantClientStore(
            url=settings.qdrant_url,
            api_key=settings.qdrant_api_key,
            prefer_grpc=settings.qdrant_prefer_grpc,
            **hnsw,
        )
    return QdrantClientStore(path=settings.qdrant_path, **hnsw)
