"""Ray Data ingestion: files → parse → chunk → lemmas → entities → dense + BM25 → Qdrant.

Streaming and idempotent: unchanged files (same content hash) are skipped before parsing, by the
actor that reads them (the stored hashes travel to the actors through the object store), a changed
file's chunks replace the old version's, and ``prune`` removes documents whose files are gone.
Writes go to the store of ``raystore.store_for`` (the embedded shard's owner actor, or the Qdrant
server), in batches, from the driver.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import pyarrow as pa
import ray
from ray.data import ActorPoolStrategy

from pipelines.ingest_stages import ChunkEmbedStage, ChunkStage, embed_chunks
from pipelines.report import IngestReport
from pipelines.sources import is_under, list_source_files
from raystore import store_for, with_absolute_paths
from ruai.encoders.model_info import dense_dim
from ruai.settings import Settings


def _fused(settings: Settings) -> bool:
    if settings.embed_stage == "auto":
        return settings.embed_num_gpus == 0
    return settings.embed_stage == "fused"


def build_dataset(
    settings: Settings,
    uris: list[tuple[str, int]],
    tenant: str,
    known: ray.ObjectRef | None = None,
) -> ray.data.Dataset:
    """``known``: the stored content hash of each document (doc_id → hash) in the object store;
    the chunking actors skip a file whose bytes still have it, after reading it once."""
    files_per_batch = settings.ingest_files_per_batch
    blocks = max(1, math.ceil(len(uris) / files_per_batch))
    ds = ray.data.from_items(
        [{"uri": uri, "size": size} for uri, size in uris], override_num_blocks=blocks
    )
    # Ray Data's actor pools restart a dead actor and retry its batch (max_restarts and
    # max_task_retries default to -1): no batch is lost; tests/integration proves it
    common = {"batch_format": "numpy", "batch_size": files_per_batch}
    if _fused(settings):
        return ds.map_batches(
            ChunkEmbedStage,
            fn_constructor_args=(settings, tenant, known),
            compute=ActorPoolStrategy(size=settings.ingest_concurrency),
            num_cpus=settings.embed_num_cpus,
            **common,
        )
    chunks = ds.map_batches(
        ChunkStage,
        fn_constructor_args=(settings, tenant, known),
        compute=ActorPoolStrategy(size=settings.ingest_concurrency),
        num_cpus=1,
        **common,
    )
    return embed_chunks(chunks, settings)


def run_ingest(
    settings: Settings,
    source: str,
    *,
    collection: str | None = None,
    tenant: str | None = None,
    prune: bool = False,
    on_progress: Callable[[IngestReport], None] | None = None,
) -> IngestReport:
    """Ingest SOURCE into the collection; Ray must be initialised (``ray.init``) by the caller."""
    started = time.perf_counter()
    settings = with_absolute_paths(settings)
    collection = collection or settings.collection
    tenant = tenant or settings.tenant
    listing = list_source_files(source)
    root, files = listing.root, listing.files
    report = IngestReport(
        collection=collection,
        source=root,
        tenant=tenant,
        files_seen=len(files),
        files_skipped=listing.skipped,
    )

    store = store_for(settings)
    store.ensure_collection(collection, dense_dim(settings))
    states = store.doc_states(collection, tenant)
    # a document with several versions in the store (an interrupted run) is treated as changed
    known = {doc_id: state.content_hash for doc_id, state in states.items() if state.content_hash}

    if files:
        # each file is read once, by the actor that would parse it: the driver reads nothing
        dataset = build_dataset(settings, [(f.uri, f.size) for f in files], tenant, ray.put(known))
        changed: dict[str, str] = {}
        for table in dataset.iter_batches(
            batch_format="pyarrow", batch_size=settings.write_batch_size, prefetch_batches=2
        ):
            kinds = table.column("kind").to_pylist()
            for kind, row in zip(
                kinds,
                table.select(["source", "doc_id", "content_hash", "reason"]).to_pylist(),
                strict=True,
            ):
                if kind == "doc":
                    report.documents_ok += 1
                    changed[row["doc_id"]] = row["content_hash"]
                elif kind == "unchanged":
                    report.documents_unchanged += 1
                elif kind == "failed":
                    report.documents_failed.append(
                        {"source": row["source"], "reason": row["reason"]}
                    )
            chunk_rows = table.filter(pa.compute.equal(table.column("kind"), "chunk"))
            if chunk_rows.num_rows:
                report.chunks += chunk_rows.num_rows
                report.points_written += store.upsert_rows(collection, chunk_rows)
            if on_progress:
                on_progress(report)
        for doc_id, content_hash in changed.items():
            if doc_id in states:  # a new document has no older version to replace
                store.delete_doc(collection, doc_id, keep_content_hash=content_hash)

    if prune:
        present = {f.uri for f in files}
        for doc_id, state in states.items():
            if is_under(state.source, root) and state.source not in present:
                store.delete_doc(collection, doc_id)
                report.documents_pruned += 1

    store.optimize(collection)
    report.points_total = store.count(collection, tenant)
    report.seconds = round(time.perf_counter() - started, 3)
    return report
