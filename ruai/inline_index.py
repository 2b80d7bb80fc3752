"""Files -> Qdrant points in this process, without Ray: the same ruai steps the Ray Data
pipeline runs (parse, chunk, lemmatize, entities, BM25, dense), one file after another.

For benchmarks and evaluations that need a real index of a small corpus; ingestion at scale is
``pipelines.ingest``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ruai.encoders.base import DenseEncoder
from ruai.extraction import Extractor
from ruai.processing import DocumentProcessor, chunk_payload
from ruai.settings import Settings
from ruai.store.base import PointRecord, VectorStore


def index_files(
    settings: Settings,
    files: Iterable[Path],
    store: VectorStore,
    dense: DenseEncoder,
    processor: DocumentProcessor | None = None,
) -> int:
    """Ingest ``files`` into ``settings.collection`` of ``store``; the number of chunks written."""
    if processor is None:
        processor = DocumentProcessor(settings, Extractor.from_settings(settings))
    store.ensure_collection(settings.collection, dense.dim)
    chunks = 0
    for path in files:
        # an e-mail's attachments are documents of their own, as in the pipeline
        for doc in processor.add_entities(processor.prepare_all(str(path), path.read_bytes())):
            vectors = dense.encode_passages([c.text for c in doc.chunks])
            points = [
                PointRecord(c.chunk_id, v.tolist(), s, chunk_payload(doc, c, settings.tenant))
                for c, v, s in zip(doc.chunks, vectors, doc.sparse, strict=True)
            ]
            chunks += store.upsert(settings.collection, points)
    store.optimize(settings.collection)
    return chunks
