"""Ray Data ingestion: files → parse → chunk → lemmas → entities → dense + BM25 → Qdrant.

Streaming and idempotent: an object whose change marker (size, mtime) is the stored one is
skipped at listing time, without being read; any other unchanged file (same content hash) is
skipped before parsing by the actor that reads it (the stored hashes travel to the actors through
the object store); a changed file's chunks replace the old version's, a file that no longer holds
any text removes it, and ``prune`` removes documents whose files are gone (never those under a
directory that could not be listed). The actors' final step writes to the store of
``raystore.store_for`` (the embedded shard's owner actor, or the Qdrant server directly) and
deletes replaced versions, a batch at a time; the driver only counts outcomes.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable

import pyarrow as pa
import ray
from ray.data import ActorPoolStrategy

from pipelines.collection_model import check_builder, configured_builder, record_builder
from pipelines.ingest_stages import ChunkEmbedWriteStage, ChunkStage, EmbedWriteStage
from pipelines.report import IngestReport
from pipelines.sources import (
    SourceFile,
    access_of,
    access_policies,
    is_under,
    list_source_files,
)
from raystore import store_for, with_absolute_paths
from ruai.ingest.documents import doc_id_for
from ruai.settings import Settings
from ruai.store.base import DocState, VectorStore
from ruai.store.doc_state_tally import MIXED_VERSIONS


def _fused(settings: Settings) -> bool:
    if settings.embed_stage == "auto":
        return settings.embed_num_gpus == 0
    return settings.embed_stage == "fused"


def stage_actors(files: int, settings: Settings) -> int:
    """How many stage actors the job starts: one per ``ingest_files_per_actor`` files, up to
    ``ingest_concurrency``. An actor costs seconds of CPU before its first file (imports, the
    encoder), more than a few small files cost to parse and embed."""
    wanted = math.ceil(files / settings.ingest_files_per_actor)
    return max(1, min(settings.ingest_concurrency, wanted))


def files_per_block(files: int, settings: Settings) -> int:
    """``ingest_files_per_batch``, or fewer when each stage actor would get under two blocks:
    large blocks cut Ray's per-task cost (docs/benchmarks.md: 32 → 128 files a block took the
    job from 2.41 to 2.14 CPU-seconds per 1,000 chunks at 100k chunks), small corpora still
    spread over the pool."""
    per_actor = files // (2 * stage_actors(files, settings))
    return max(1, min(settings.ingest_files_per_batch, per_actor))


def build_dataset(
    settings: Settings,
    files: list[SourceFile],
    tenant: str,
    collection: str,
    known: ray.ObjectRef | None = None,
    access: dict[str, list[str]] | None = None,
) -> ray.data.Dataset:
    """The job's dataset of outcomes: one row per file (``OUTCOME_COLUMNS`` plus ``chunks``);
    its final stage has written the chunks. ``known``: what the store holds of each document
    (doc_id → (content hash, source marker, access)) in the object store; the chunking actors
    skip a file whose bytes still have that hash, after reading it once, or only rewrite its
    access. ``access``: uri → who may read it (default: the whole tenant)."""
    files_per_batch = files_per_block(len(files), settings)
    actors = stage_actors(len(files), settings)
    blocks = max(1, math.ceil(len(files) / files_per_batch))
    access = access or {}
    ds = ray.data.from_items(
        [
            {
                "uri": f.uri,
                "size": f.size,
                "marker": f.marker,
                "access": json.dumps(access.get(f.uri, [])),
            }
            for f in files
        ],
        override_num_blocks=blocks,
    )
    # Ray Data's actor pools restart a dead actor and retry its batch (max_restarts and
    # max_task_retries default to -1): no batch is lost; tests/integration proves it
    common = {"batch_format": "numpy", "batch_size": files_per_batch}
    if _fused(settings):
        return ds.map_batches(
            ChunkEmbedWriteStage,
            fn_constructor_args=(settings, tenant, collection, known),
            compute=ActorPoolStrategy(size=actors),
            num_cpus=settings.embed_num_cpus,
            **common,
        )
    chunks = ds.map_batches(
        ChunkStage,
        fn_constructor_args=(settings, tenant, known),
        compute=ActorPoolStrategy(size=actors),
        num_cpus=1,
        **common,
    )
    return chunks.map_batches(
        EmbedWriteStage,
        fn_constructor_args=(settings, tenant, collection),
        batch_format="pyarrow",
        batch_size=files_per_batch,
        compute=ActorPoolStrategy(size=settings.embed_concurrency),
        num_cpus=settings.embed_num_cpus,
        num_gpus=settings.embed_num_gpus or None,
    )


def _count_outcomes(report: IngestReport, table: pa.Table) -> None:
    for row in table.to_pylist():
        if row["outcome"] == "ok":
            report.documents_ok += 1
            report.documents_attachments += bool(row.get("parent_source"))
            report.chunks += row["chunks"]
            report.points_written += row["chunks"]
            if row.get("ocr_pages"):
                report.documents_ocr.append({"source": row["source"], "pages": row["ocr_pages"]})
        elif row["outcome"] == "unchanged":
            report.documents_unchanged += 1
        elif row["outcome"] == "access":
            report.documents_access_updated += 1
        elif row["outcome"] == "removed":
            report.documents_removed.append({"source": row["source"], "reason": row["reason"]})
        else:
            report.documents_failed.append({"source": row["source"], "reason": row["reason"]})


def run_ingest(
    settings: Settings,
    source: str,
    *,
    collection: str | None = None,
    tenant: str | None = None,
    prune: bool = False,
    access: list[str] | None = None,
    on_progress: Callable[[IngestReport], None] | None = None,
) -> IngestReport:
    """Ingest SOURCE into the collection; Ray must be initialised (``ray.init``) by the caller.
    Who may read each document: what an S3 object's own tag or metadata says
    (RUAI_INGEST_OBJECT_ACCESS_KEY), else the nearest ``.ruai-access.yaml`` above it in SOURCE's
    tree, else ``access`` (labels, ``ruai.identity.policy.parse_access_flag``), else the
    tenant."""
    started = time.perf_counter()
    settings = with_absolute_paths(settings)
    collection = collection or settings.collection
    tenant = tenant or settings.tenant
    listing = list_source_files(source, settings.ingest_object_access_key)
    root, files = listing.root, listing.files
    policies = access_policies(listing, access)
    readers = access_of(listing, policies)
    report = IngestReport(
        collection=collection,
        source=root,
        tenant=tenant,
        files_seen=len(files),
        files_skipped=listing.skipped,
    )

    store = store_for(settings)
    built = configured_builder(settings)
    check_builder(store, collection, built)
    record_builder(store, collection, built)
    states = store.doc_states(collection, tenant)
    attachments = _attachments_by_mail(states)
    for mail, stored in attachments.items():
        if any(not state.content_hash for state in stored):  # one not wholly written: re-read
            mail_state = states.get(doc_id_for(mail, tenant))
            if mail_state is not None:
                mail_state.content_hash = MIXED_VERSIONS
    # an object whose change marker (size, mtime) is the one stored is unchanged: nobody reads it
    # (a document with several versions in the store has no marker and no hash: it is re-read)
    to_read = [f for f in files if not _unchanged_by_marker(f, states, tenant)]
    report.documents_unchanged = report.files_unchanged_listed = len(files) - len(to_read)
    # of those, the ones whose readers changed: their payload is rewritten, nothing is read
    reading = {f.uri for f in to_read}
    relabel = {
        doc_id: readers[f.uri]
        for f in files
        if f.uri not in reading
        and states[doc_id := doc_id_for(f.uri, tenant)].access != tuple(readers[f.uri])
    }
    if relabel:
        report.documents_unchanged -= len(relabel)
        report.files_unchanged_listed -= len(relabel)
        report.documents_access_updated += len(relabel)
        relabelled = {states[doc_id].source for doc_id in relabel}
        for mail in relabelled & attachments.keys():
            relabel |= dict.fromkeys((a.doc_id for a in attachments[mail]), readers[mail])
        store.set_access(collection, tenant, relabel)
    report.access_policies = len(policies.policy_files)

    if to_read:
        # each file is read once, by the actor that parses it; that actor's final step writes
        # its chunks: the driver reads no file and holds no vector, it counts outcomes
        known = {doc_id: (s.content_hash, s.marker, s.access) for doc_id, s in states.items()}
        dataset = build_dataset(settings, to_read, tenant, collection, ray.put(known), readers)
        outcomes = []
        for table in dataset.iter_batches(batch_format="pyarrow", batch_size=None):
            _count_outcomes(report, table)
            outcomes.append(table.select(["source", "doc_id", "outcome"]))
            if on_progress:
                on_progress(report)
        _follow_mails(store, collection, tenant, report, attachments, outcomes, readers)

    if prune:
        present = {f.uri for f in files}
        # an attachment goes with its mail
        absent = {
            doc_id: file
            for doc_id, state in states.items()
            if is_under(file := state.parent or state.source, root) and file not in present
        }
        gone = [doc_id for doc_id, source in absent.items() if not listing.in_unlisted(source)]
        store.delete_docs(collection, dict.fromkeys(gone))
        report.documents_pruned = len(gone)
        report.documents_not_pruned = len(absent) - len(gone)

    store.optimize(collection)
    report.points_total = store.count(collection, tenant)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _attachments_by_mail(states: dict[str, DocState]) -> dict[str, list[DocState]]:
    """The stored attachment documents of each mail (by the mail's source)."""
    attachments: dict[str, list[DocState]] = {}
    for state in states.values():
        if state.parent:
            attachments.setdefault(state.parent, []).append(state)
    return attachments


def _follow_mails(
    store: VectorStore,
    collection: str,
    tenant: str,
    report: IngestReport,
    attachments: dict[str, list[DocState]],
    outcomes: list[pa.Table],
    readers: dict[str, list[str]],
) -> None:
    """The stored attachments of the mails this run read follow their mail: the readers of a
    mail whose access alone changed; gone when the mail's new version (or its removal) no
    longer carries them."""
    if not attachments or not outcomes:
        return
    rows = pa.concat_tables(outcomes).to_pylist()
    seen = {row["doc_id"] for row in rows}
    relabel: dict[str, list[str]] = {}
    gone: list[DocState] = []
    for row in rows:
        stored = attachments.get(row["source"], [])
        if row["outcome"] == "access":
            relabel |= dict.fromkeys((a.doc_id for a in stored), readers[row["source"]])
        elif row["outcome"] in ("ok", "removed"):
            gone += [a for a in stored if a.doc_id not in seen]
    if relabel:
        store.set_access(collection, tenant, relabel)
    store.delete_docs(collection, dict.fromkeys(a.doc_id for a in gone))
    report.documents_removed += [
        {"source": a.source, "reason": f"no longer attached to {a.parent}"} for a in gone
    ]


def _unchanged_by_marker(file: SourceFile, states: dict[str, DocState], tenant: str) -> bool:
    if not file.marker:
        return False
    state = states.get(doc_id_for(file.uri, tenant))
    return state is not None and bool(state.content_hash) and state.marker == file.marker
