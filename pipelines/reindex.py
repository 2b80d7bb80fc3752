"""Blue/green re-index: a new version of a collection, re-embedded with another dense model, built
while the live version keeps serving and put live by one atomic alias flip.

The new version is made from the stored points, not from the source files: the driver scrolls
the live version page by page (payload and BM25 vectors as they are) into the object store, a Ray
Data actor pool (ingestion's ``EmbedStep``) re-embeds the chunk texts with the new model, and the
driver writes the batches into ``<collection>__v<N>``. The alias flips only when the new version
holds as many points as the live one; otherwise the new version is left for inspection, recorded
as incomplete (never a rollback target, dropped by the next cleanup), and the alias is untouched.
A collection that is not an alias yet is adopted as ``__v1`` first.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import asdict, dataclass, field

import pyarrow as pa
import ray

from pipelines.collection_model import check_builder, configured_builder, pinned_model
from pipelines.ingest_stages import embed_chunks
from pipelines.serve_rollout import arm_collections
from raystore import RayStore, store_for, with_absolute_paths
from ruai.encoders.model_info import dense_dim
from ruai.ingest.payload import encode_payload
from ruai.ingest.rows import DOC_ROW_SCHEMA, chunk_rows
from ruai.lifecycle.registry import resolve_dense_model
from ruai.settings import Settings
from ruai.store.aliases import (
    CollectionVersion,
    alias_of_version,
    next_version_name,
    rollback_target,
    utc_now,
    versions_to_drop,
)
from ruai.store.base import CollectionNotFoundError, PointRecord, StoreError


class ReindexIncompleteError(StoreError):
    """The new version does not hold every point of the live one: the alias was not flipped."""


@dataclass
class ReindexReport:
    collection: str
    model: str
    source_version: str = ""
    new_version: str = ""
    dim: int = 0
    points_source: int = 0
    points_written: int = 0
    points_new: int = 0
    flipped: bool = False
    dropped: list[str] = field(default_factory=list)
    # versions beyond the number kept that stayed because an experiment arm searches them
    kept_for_arms: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self) | {
            "points_per_s": round(self.points_written / self.seconds, 2) if self.seconds else 0.0
        }

    def render(self):
        from rich.table import Table

        versions = f"{self.source_version} → {self.new_version}"
        table = Table(title=f"reindex {self.collection}: {versions}")
        table.add_column("metric")
        table.add_column("value", justify="right")
        for key, value in self.to_dict().items():
            table.add_row(key, str(value))
        return table


def live_version(store: RayStore, collection: str, settings: Settings) -> CollectionVersion:
    """The version the alias ``collection`` points at; a plain collection becomes ``__v1`` of a
    new alias of its name first (recorded with the configured dense model, which built it). A
    version of an alias is refused: the alias is what gets re-indexed."""
    aliases = store.alias_targets()
    if collection in aliases:
        return store.version_of(collection)
    alias = alias_of_version(collection, aliases)
    if alias is not None:
        raise StoreError(
            f"{collection!r} is a version of the alias {alias!r} (which points at "
            f"{aliases[alias]}): re-index --collection {alias}"
        )
    if not store.collection_exists(collection):
        raise CollectionNotFoundError(
            f"collection {collection!r} does not exist: ingest into it first"
        )
    built = configured_builder(settings)
    check_builder(store, collection, built)
    first = CollectionVersion(
        next_version_name(collection, store.collection_names()),
        model=built.model,
        dim=built.dim,
        created=utc_now(),
        complete=True,
    )
    store.adopt_collection(collection, first)
    return first


def _rows(points: list[PointRecord]) -> pa.Table:
    """A page of stored points as one document row (``DOC_ROW_SCHEMA``), the shape ingestion's
    ``EmbedStep`` embeds; ``chunk_rows`` flattens it back into points to write."""
    row = {
        "source": "", "doc_id": "", "content_hash": "", "outcome": "ok", "reason": None,
        "stored_before": False,
        "chunk_ids": [p.id for p in points],
        "texts": [p.payload.get("text", "") for p in points],
        "payloads": [encode_payload(p.payload) for p in points],
        "sparse_indices": [p.sparse.indices for p in points],
        "sparse_values": [p.sparse.values for p in points],
    }  # fmt: skip
    return pa.Table.from_pylist([row], schema=DOC_ROW_SCHEMA)


def stored_pages(store: RayStore, version: str, page: int) -> Iterator[ray.ObjectRef]:
    """Every point of ``version`` as Arrow blocks in the object store, one page at a time."""
    offset = None
    while True:
        points, offset = store.scroll_points(version, offset, page)
        if points:
            yield ray.put(_rows(points))
        if offset is None:
            return


def run_reindex(
    settings: Settings,
    collection: str,
    model: str,
    *,
    flip: bool = True,
    on_progress: Callable[[ReindexReport], None] | None = None,
) -> ReindexReport:
    """Build the next version of ``collection`` with ``model`` and flip the alias to it (with
    ``flip=False`` the version is only staged: a canary arm can search it by its own name while
    the alias stays); Ray must be initialised by the caller."""
    started = time.perf_counter()
    settings = with_absolute_paths(settings)
    store = store_for(settings)
    report = ReindexReport(collection=collection, model=pinned_model(model, settings))
    source = live_version(store, collection, settings)
    report.source_version = source.name
    report.points_source = store.count(source.name)
    new_settings = settings.model_copy(update={"dense_model": report.model})
    report.dim = dense_dim(resolve_dense_model(new_settings))
    report.new_version = next_version_name(collection, store.collection_names())
    store.ensure_collection(report.new_version, report.dim)

    blocks = list(stored_pages(store, source.name, settings.write_batch_size))
    if blocks:
        dataset = embed_chunks(ray.data.from_arrow_refs(blocks), new_settings)
        for table in dataset.iter_batches(
            batch_format="pyarrow", batch_size=settings.write_batch_size, prefetch_batches=2
        ):
            report.points_written += store.upsert_rows(report.new_version, chunk_rows(table))
            if on_progress:
                on_progress(report)
    store.optimize(report.new_version)
    report.seconds = round(time.perf_counter() - started, 3)
    keep = settings.reindex_keep_versions
    serving = arm_collections() if flip and keep else set()
    return settle(store, report, flip=flip, keep=keep, serving=serving)


def settle(
    store: RayStore,
    report: ReindexReport,
    *,
    flip: bool,
    keep: int,
    serving: Collection[str] = (),
) -> ReindexReport:
    """Record the new version, complete or not; flip the alias to a complete one (unless staged)
    and drop the versions beyond ``keep`` (0: none) that no experiment arm searches
    (``serving``)."""
    source, new = report.source_version, report.new_version
    report.points_new = store.count(new)
    report.points_source = store.count(source)  # again: writes may have gone on meanwhile
    complete = report.points_new == report.points_source
    store.record_version(
        CollectionVersion(
            new, report.model, report.dim, created=utc_now(), source=source, complete=complete
        )
    )
    if not complete:
        raise ReindexIncompleteError(
            f"{new} holds {report.points_new} points, {source} {report.points_source} (written "
            f"to while re-indexing?): the alias still points at {source}; run the re-index "
            f"again ({new} stays for inspection, is never a rollback target and goes with the "
            "next --drop-old)"
        )
    if not flip:
        return report
    store.flip_alias(report.collection, new)
    report.flipped = True
    if keep:
        report.dropped, report.kept_for_arms = drop_old(store, report.collection, keep, serving)
    return report


def rollback(store: RayStore, collection: str) -> tuple[str, str]:
    """Point the alias back at the version that was live before the live one (the one it was
    re-indexed from; an incomplete version never): (from, to)."""
    if collection not in store.alias_targets():
        raise StoreError(f"{collection!r} is not an alias: nothing was re-indexed to roll back")
    live = store.version_of(collection)
    target = rollback_target(collection, store.versions_of(collection), live)
    if target is None:
        raise StoreError(
            f"{collection!r} points at {live.name} and no complete version is older: no rollback"
        )
    store.flip_alias(collection, target)
    return live.name, target


def flip_to(store: RayStore, collection: str, version: str) -> tuple[str, str]:
    """Point the alias at ``version``, one of its complete versions (a staged one): (from, to)."""
    versions = {v.name: v for v in store.versions_of(collection)}
    if version not in versions:
        raise StoreError(
            f"{version!r} is not a version of {collection!r} (versions: {list(versions)})"
        )
    if versions[version].complete is False:
        raise StoreError(
            f"{version!r} is incomplete (its re-index did not write every point): re-index "
            f"{collection!r} again instead of flipping to it"
        )
    live = store.version_of(collection).name
    store.flip_alias(collection, version)
    return live, version


def drop_old(
    store: RayStore, collection: str, keep: int, serving: Collection[str] = ()
) -> tuple[list[str], list[str]]:
    """Drop the versions beyond ``keep`` (the live one always stays, then its rollback target)
    and every incomplete one, except those an experiment arm searches (``serving``, e.g.
    ``arm_collections()``): (dropped, kept because an arm searches them)."""
    live = store.version_of(collection)
    beyond = versions_to_drop(collection, store.versions_of(collection), live, keep)
    dropped = [name for name in beyond if name not in serving]
    for name in dropped:
        store.drop_collection(name)
    return dropped, [name for name in beyond if name in serving]


def version_rows(store: RayStore, collection: str) -> list[dict]:
    """One row per version: name, live, model, dim, points, created, source, complete."""
    live = store.alias_targets().get(collection)
    return [
        {"version": v.name, "live": v.name == live, "points": store.count(v.name)}
        | {k: getattr(v, k) for k in ("model", "dim", "created", "source", "complete")}
        for v in store.versions_of(collection)
    ]
