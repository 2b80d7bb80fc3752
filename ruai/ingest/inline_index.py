"""Files -> Qdrant points in this process, without Ray: the same ruai steps the Ray Data
pipeline runs (parse, chunk, lemmatize, entities, BM25, dense), one file after another, and the
same rows between them (``ruai.ingest.rows``), so a point is built one way only.

For benchmarks and evaluations that need a real index of a small corpus; ingestion at scale is
``pipelines.ingest``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa

from ruai.encoders.base import DenseEncoder
from ruai.ingest.extraction import Extractor
from ruai.ingest.processing import DocumentProcessor
from ruai.ingest.rows import DOC_ROW_SCHEMA, chunk_rows, doc_row, points_from_table, with_dense
from ruai.settings import Settings
from ruai.store.base import VectorStore


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
        doc = processor.process(str(path), path.read_bytes())
        if not doc.chunks:
            continue
        row = doc_row(doc, settings.tenant, marker="", stored=False, access=[])
        table = pa.Table.from_pylist([row], schema=DOC_ROW_SCHEMA)
        vectors = dense.encode_passages(row["texts"])
        points = points_from_table(chunk_rows(with_dense(table, vectors)))
        chunks += store.upsert(settings.collection, points)
    store.optimize(settings.collection)
    return chunks
