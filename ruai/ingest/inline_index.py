"""Files -> Qdrant points in this process, without Ray: the same ruai steps the Ray Data
pipeline runs (parse, chunk, lemmatize, entities, BM25, dense), one file after another, and the
same rows between them (``ruai.ingest.rows``), so a point is built one way only.

For benchmarks and evaluations that need a real index of a small corpus; ingestion at scale is
``pipelines.ingest``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa

from ruai.encoders.base import DenseEncoder
from ruai.ingest.extraction import Extractor
from ruai.ingest.processing import DocumentProcessor
from ruai.ingest.rows import (
    DOC_ROW_SCHEMA,
    chunk_rows,
    chunk_texts,
    doc_row,
    points_from_table,
    with_dense,
)
from ruai.settings import Settings
from ruai.store.base import VectorStore


def index_files(
    settings: Settings,
    files: Iterable[Path],
    store: VectorStore,
    dense: DenseEncoder,
    processor: DocumentProcessor | None = None,
) -> int:
    """Ingest ``files`` into ``settings.collection`` of ``store``; the number of chunks written.
    Documents are embedded and written ``write_batch_size`` chunks at a time, as the pipeline's
    final stage writes a block."""
    if processor is None:
        processor = DocumentProcessor(settings, Extractor.from_settings(settings))
    store.ensure_collection(settings.collection, dense.dim)
    rows: list[dict] = []
    pending = written = 0
    for path in files:
        # an e-mail's attachments are documents of their own, as in the pipeline
        for doc in processor.add_entities(processor.prepare_all(str(path), path.read_bytes())):
            if doc.chunks:
                rows.append(doc_row(doc, settings.tenant, marker="", stored=False, access=[]))
                pending += len(doc.chunks)
        if pending >= settings.write_batch_size:
            written += _write(settings, rows, store, dense)
            rows, pending = [], 0
    if rows:
        written += _write(settings, rows, store, dense)
    store.optimize(settings.collection)
    return written


def _write(settings: Settings, rows: list[dict], store: VectorStore, dense: DenseEncoder) -> int:
    table = pa.Table.from_pylist(rows, schema=DOC_ROW_SCHEMA)
    vectors = np.asarray(dense.encode_passages(chunk_texts(table)), dtype=np.float32)
    return store.upsert(
        settings.collection, points_from_table(chunk_rows(with_dense(table, vectors)))
    )
