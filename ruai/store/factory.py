"""Open the VectorStore the settings ask for."""

from __future__ import annotations

from ruai.settings import Settings
from ruai.store.base import VectorStore


def open_store(settings: Settings) -> VectorStore:
    """``edge`` -> EdgeStore(qdrant_path); ``client`` -> the Qdrant server at qdrant_url, or
    qdrant-client's local mode at qdrant_path when no URL is set."""
    if settings.store_backend == "edge":
        from ruai.store.edge import EdgeStore

        return EdgeStore(settings.qdrant_path)
    from ruai.store.client import QdrantClientStore

    if settings.qdrant_url:
        return QdrantClientStore(
            url=settings.qdrant_url,
            api_key=settings.qdrant_api_key,
            prefer_grpc=settings.qdrant_prefer_grpc,
        )
    return QdrantClientStore(path=settings.qdrant_path)
