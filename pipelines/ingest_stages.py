"""The Ray Data stages of ingestion: callable classes that Ray runs as actor pools.

Every stage exchanges document rows (``ruai.ingest.rows.DOC_ROW_SCHEMA``): one row per file, its
outcome a column, its chunks list columns. The final stage embeds and writes its own batch to
the store (the embedded shard's owner, or the Qdrant server straight from each actor) and hands
the driver only the outcomes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import ray

from pipelines.sources import read_source_file
from raystore import store_for
from ruai.encoders.factory import build_dense_encoder
from ruai.ingest.documents import content_hash_of, doc_id_for
from ruai.ingest.isolated_extraction import IsolatedExtractor
from ruai.ingest.processing import DocumentProcessor, ProcessedDocument
from ruai.ingest.rows import (
    DOC_ROW_SCHEMA,
    OUTCOME_COLUMNS,
    chunk_rows,
    chunk_texts,
    doc_row,
    with_dense,
)
from ruai.lifecycle.registry import resolve_dense_model
from ruai.settings import Settings
from ruai.text.lemmas import Lemmatizer

# doc_id → (stored content hash, stored source marker, stored access labels), or its ObjectRef
# (one copy in the object store for all actors). A doc_id present here has a version in the
# store that a new one replaces.
KnownDocs = dict[str, tuple[str, str, tuple[str, ...] | None]] | ray.ObjectRef | None


class ChunkStage:
    """Files → document rows (chunks with text, payload, BM25). Parsing and chunking run in this
    actor's killable child process, under the per-document limits: a hostile file costs at most
    ``parse_timeout_s`` and ``parse_memory_bytes`` there, and this actor, which Ray would restart
    and retry without end, never holds that work itself."""

    def __init__(self, settings: Settings, tenant: str, known: KnownDocs = None) -> None:
        self.processor = DocumentProcessor(settings, IsolatedExtractor(settings), tenant=tenant)
        self.tenant = tenant
        self.known = ray.get(known) if isinstance(known, ray.ObjectRef) else known or {}

    def _isolated(
        self, uri: str, step: Callable[[], list[ProcessedDocument]]
    ) -> list[ProcessedDocument]:
        """One document's failure, expected or a bug, never costs the others."""
        try:
            return step()
        except OSError as exc:
            reason = f"read error: {exc}"
        except Exception as exc:
            reason = f"internal error: {type(exc).__name__}: {exc}"
        return [ProcessedDocument(uri, doc_id_for(uri, self.tenant), "failed", reason=reason)]

    def _prepare(
        self, uri: str, size: int, marker: str, access: list[str]
    ) -> list[ProcessedDocument]:
        """The file's document, then its attachments' (an e-mail's), each its own document."""
        too_large = self.processor.too_large(uri, size)
        if too_large:
            return [too_large]
        data = read_source_file(uri)
        doc_id = doc_id_for(uri, self.tenant)
        digest = content_hash_of(data)
        # same bytes and same marker: nothing to write (a new marker alone is written, so that
        # the next run skips the object at listing time), or only the access payload; the
        # driver does the same for the attachments of such a mail
        stored = self.known.get(doc_id)
        if stored is not None and stored[:2] == (digest, marker):
            same_access = stored[2] == tuple(access)
            status = "unchanged" if same_access else "access"
            return [ProcessedDocument(uri, doc_id, status, digest)]
        return self.processor.prepare_all(uri, data)

    def __call__(self, batch: dict[str, np.ndarray]) -> pa.Table:
        files = list(
            zip(
                batch["uri"].tolist(),
                batch["size"].tolist(),
                batch["marker"].tolist(),
                [json.loads(access) for access in batch["access"].tolist()],
                strict=True,
            )
        )
        # (document, its file's marker and access): an attachment is read as its mail is
        documents = [
            (doc, marker, access)
            for uri, size, marker, access in files
            for doc in self._isolated(
                uri, lambda uri=uri, size=size, m=marker, a=access: self._prepare(uri, size, m, a)
            )
        ]
        processed = [doc for doc, _, _ in documents]
        try:
            self.processor.add_entities(processed)
        except Exception:  # find the document that breaks the batch, keep the rest
            processed = [
                self._isolated(doc.source, lambda doc=doc: self.processor.add_entities([doc]))[0]
                for doc in processed
            ]
        rows = [
            doc_row(doc, self.tenant, marker, doc.doc_id in self.known, access)
            for doc, (_, marker, access) in zip(processed, documents, strict=True)
        ]
        return pa.Table.from_pylist(rows, schema=DOC_ROW_SCHEMA)


class EmbedStep:
    """Adds the ``dense`` column (one vector per chunk): one encoder per actor, GPU if given.
    ``lemmatizer``: the chunk step's, where both run in one actor (navec then reads the lemma
    cache BM25 filled instead of analysing every word again)."""

    def __init__(self, settings: Settings, lemmatizer: Lemmatizer | None = None) -> None:
        self.encoder = build_dense_encoder(resolve_dense_model(settings), lemmatizer=lemmatizer)
        self.crash_marker = settings.embed_crash_marker

    def _maybe_crash(self) -> None:
        if self.crash_marker is not None and not self.crash_marker.exists():
            self.crash_marker.parent.mkdir(parents=True, exist_ok=True)
            self.crash_marker.write_text(str(os.getpid()))
            os._exit(17)

    def __call__(self, table: pa.Table) -> pa.Table:
        self._maybe_crash()
        texts = chunk_texts(table)
        if texts:
            dense = np.asarray(self.encoder.encode_passages(texts), dtype=np.float32)
        else:
            dense = np.zeros((0, self.encoder.dim), dtype=np.float32)
        return with_dense(table, dense)


def embed_chunks(dataset: ray.data.Dataset, settings: Settings) -> ray.data.Dataset:
    """Document rows with their ``dense`` column, from an ``EmbedStep`` actor pool of
    ``settings.dense_model`` (a re-index: one row per page of stored points)."""
    return dataset.map_batches(
        EmbedStep,
        fn_constructor_args=(settings,),
        batch_format="pyarrow",
        batch_size=1,
        compute=ray.data.ActorPoolStrategy(size=settings.embed_concurrency),
        num_cpus=settings.embed_num_cpus,
        num_gpus=settings.embed_num_gpus or None,
    )


class WriteStep:
    """Writes a batch's chunks and deletes the old versions of its changed documents, and every
    point of its ``removed`` ones (one request each per batch), rewrites the access payload of
    its ``access`` ones, then reduces the batch to its
    outcomes (plus how many ``chunks`` each document wrote). Writes repeat harmlessly when Ray
    retries a batch: ids are stable."""

    def __init__(self, settings: Settings, tenant: str, collection: str) -> None:
        self.store = store_for(settings)
        self.tenant = tenant
        self.collection = collection
        self.batch = settings.write_batch_size

    def __call__(self, table: pa.Table) -> pa.Table:
        chunks = chunk_rows(table)
        written = 0
        for start in range(0, chunks.num_rows, self.batch):
            written += self.store.upsert_rows(self.collection, chunks.slice(start, self.batch))
        outcome = table.column("outcome")
        replaced = table.filter(pc.and_(pc.equal(outcome, "ok"), table.column("stored_before")))
        removed = table.filter(pc.equal(outcome, "removed"))
        self.store.delete_docs(
            self.collection,
            dict(
                zip(
                    replaced.column("doc_id").to_pylist(),
                    replaced.column("content_hash").to_pylist(),
                    strict=True,
                )
            )
            | dict.fromkeys(removed.column("doc_id").to_pylist()),
        )
        relabelled = table.filter(pc.equal(outcome, "access"))
        if relabelled.num_rows:
            self.store.set_access(
                self.collection,
                self.tenant,
                dict(
                    zip(
                        relabelled.column("doc_id").to_pylist(),
                        relabelled.column("access").to_pylist(),
                        strict=True,
                    )
                ),
            )
        lengths = pc.list_value_length(table.column("chunk_ids")).fill_null(0)
        if written != chunks.num_rows:
            raise RuntimeError(f"the store wrote {written} of {chunks.num_rows} points")
        return table.select(list(OUTCOME_COLUMNS)).append_column("chunks", lengths)


class EmbedWriteStage:
    """The final stage when embedding has its own actors (GPU): embed, then write."""

    def __init__(
        self,
        settings: Settings,
        tenant: str,
        collection: str,
        lemmatizer: Lemmatizer | None = None,
    ) -> None:
        self.embed = EmbedStep(settings, lemmatizer)
        self.write = WriteStep(settings, tenant, collection)

    def __call__(self, table: pa.Table) -> pa.Table:
        return self.write(self.embed(table))


class ChunkEmbedWriteStage:
    """All steps fused in one actor: on CPU this saves two hops through the object store."""

    def __init__(
        self, settings: Settings, tenant: str, collection: str, known: KnownDocs = None
    ) -> None:
        self.chunk = ChunkStage(settings, tenant, known)
        self.rest = EmbedWriteStage(settings, tenant, collection, self.chunk.processor.lemmatizer)

    def __call__(self, batch: dict[str, np.ndarray]) -> pa.Table:
        return self.rest(self.chunk(batch))
