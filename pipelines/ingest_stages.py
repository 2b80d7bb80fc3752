"""The Ray Data stages of ingestion: callable classes that Ray runs as actor pools."""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import ray

from pipelines.sources import read_source_file
from ruai.documents import content_hash_of, doc_id_for
from ruai.encoders.factory import build_dense_encoder
from ruai.isolated_extraction import IsolatedExtractor
from ruai.processing import DocumentProcessor, ProcessedDocument, chunk_payload
from ruai.settings import Settings
from ruai.store.rows import encode_payload

# doc_id → stored content hash, or its ObjectRef (one copy in the object store for all actors)
KnownHashes = dict[str, str] | ray.ObjectRef | None

# one row per chunk plus one outcome row per document (kind: chunk | doc | unchanged | failed)
ROW_SCHEMA = pa.schema(
    [
        ("kind", pa.string()),
        ("source", pa.string()),
        ("doc_id", pa.string()),
        ("content_hash", pa.string()),
        ("reason", pa.string()),
        ("n_chunks", pa.int64()),
        ("chunk_id", pa.string()),
        ("text", pa.string()),
        ("payload", pa.string()),
        ("sparse_indices", pa.list_(pa.int64())),
        ("sparse_values", pa.list_(pa.float32())),
    ]
)


def _rows(processed: ProcessedDocument, tenant: str) -> list[dict]:
    base = {
        "source": processed.source,
        "doc_id": processed.doc_id,
        "content_hash": processed.content_hash,
        "reason": processed.reason,
        "n_chunks": len(processed.chunks),
        "chunk_id": "",
        "text": "",
        "payload": "",
        "sparse_indices": [],
        "sparse_values": [],
    }
    kind = "doc" if processed.status == "ok" else processed.status
    rows = [base | {"kind": kind}]
    for chunk, sparse in zip(processed.chunks, processed.sparse, strict=True):
        rows.append(
            base
            | {
                "kind": "chunk",
                "chunk_id": chunk.chunk_id,
                "text": chunk.text,
                "payload": encode_payload(chunk_payload(processed, chunk, tenant)),
                "sparse_indices": sparse.indices,
                "sparse_values": sparse.values,
            }
        )
    return rows


class ChunkStage:
    """Files → chunk rows (text, payload, BM25) plus one outcome row per file. Parsing and chunking
    run in this actor's killable child process, under the per-document limits: a hostile file
    costs at most ``parse_timeout_s`` and ``parse_memory_bytes`` there, and this actor, which Ray
    would restart and retry without end, never holds that work itself."""

    def __init__(self, settings: Settings, tenant: str, known: KnownHashes = None) -> None:
        self.processor = DocumentProcessor(settings, IsolatedExtractor(settings), tenant=tenant)
        self.tenant = tenant
        self.known = ray.get(known) if isinstance(known, ray.ObjectRef) else known or {}

    def _isolated(self, uri: str, step: Callable[[], ProcessedDocument]) -> ProcessedDocument:
        """One document's failure, expected or a bug, never costs the others."""
        try:
            return step()
        except OSError as exc:
            reason = f"read error: {exc}"
        except Exception as exc:
            reason = f"internal error: {type(exc).__name__}: {exc}"
        return ProcessedDocument(uri, doc_id_for(uri, self.tenant), "failed", reason=reason)

    def _prepare(self, uri: str, size: int) -> ProcessedDocument:
        too_large = self.processor.too_large(uri, size)
        if too_large:
            return too_large
        data = read_source_file(uri)
        doc_id = doc_id_for(uri, self.tenant)
        digest = content_hash_of(data)
        if self.known.get(doc_id) == digest:
            return ProcessedDocument(uri, doc_id, "unchanged", digest)
        return self.processor.prepare(uri, data)

    def __call__(self, batch: dict[str, np.ndarray]) -> pa.Table:
        files = zip(batch["uri"].tolist(), batch["size"].tolist(), strict=True)
        documents = [
            self._isolated(uri, lambda uri=uri, size=size: self._prepare(uri, size))
            for uri, size in files
        ]
        try:
            self.processor.add_entities(documents)
        except Exception:  # find the document that breaks the batch, keep the rest
            documents = [
                self._isolated(doc.source, lambda doc=doc: self.processor.add_entities([doc])[0])
                for doc in documents
            ]
        rows = [row for doc in documents for row in _rows(doc, self.tenant)]
        return pa.Table.from_pylist(rows, schema=ROW_SCHEMA)


class EmbedStage:
    """Adds the ``dense`` column (zeros on non-chunk rows): one encoder per actor, GPU if given."""

    def __init__(self, settings: Settings) -> None:
        self.encoder = build_dense_encoder(settings)
        self.crash_marker = settings.embed_crash_marker

    def _maybe_crash(self) -> None:
        if self.crash_marker is not None and not self.crash_marker.exists():
            self.crash_marker.parent.mkdir(parents=True, exist_ok=True)
            self.crash_marker.write_text(str(os.getpid()))
            os._exit(17)

    def __call__(self, table: pa.Table) -> pa.Table:
        self._maybe_crash()
        kinds = table.column("kind").to_pylist()
        texts = table.column("text").to_pylist()
        wanted = [i for i, kind in enumerate(kinds) if kind == "chunk"]
        dense = np.zeros((len(kinds), self.encoder.dim), dtype=np.float32)
        if wanted:
            dense[wanted] = self.encoder.encode_passages([texts[i] for i in wanted])
        column = pa.FixedSizeListArray.from_arrays(pa.array(dense.ravel()), self.encoder.dim)
        return table.append_column("dense", column)


def embed_chunks(dataset: ray.data.Dataset, settings: Settings) -> ray.data.Dataset:
    """``dataset``'s chunk rows with their ``dense`` column, from an ``EmbedStage`` actor pool
    of ``settings.dense_model`` (ingestion's separate embed stage, and a re-index)."""
    return dataset.map_batches(
        EmbedStage,
        fn_constructor_args=(settings,),
        batch_format="pyarrow",
        batch_size=settings.dense_batch_size,
        compute=ray.data.ActorPoolStrategy(size=settings.embed_concurrency),
        num_cpus=settings.embed_num_cpus,
        num_gpus=settings.embed_num_gpus or None,
    )


class ChunkEmbedStage:
    """Both stages fused in one actor: on CPU this saves a hop through the object store."""

    def __init__(self, settings: Settings, tenant: str, known: KnownHashes = None) -> None:
        self.chunk = ChunkStage(settings, tenant, known)
        self.embed = EmbedStage(settings)

    def __call__(self, batch: dict[str, np.ndarray]) -> pa.Table:
        return self.embed(self.chunk(batch))
