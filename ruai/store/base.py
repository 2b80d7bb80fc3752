"""The VectorStore protocol every Qdrant backend implements, and the records it exchanges."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from ruai.encoders.base import SparseVector
from ruai.store.hnsw import HnswSearch

DENSE = "dense"
SPARSE = "bm25"
# payload fields with an index, and its kind; tenant is the multitenancy key, access_ids who may
# read a point (the ``access`` labels, ruai/identity/access.py, as integers bound to the tenant)
INDEXED_FIELDS: dict[str, Literal["keyword", "integer"]] = {
    "tenant": "keyword",
    "doc_id": "keyword",
    "source": "keyword",
    "access_ids": "integer",
}
ACCESS = "access"
ACCESS_IDS = "access_ids"
# the label of a point the whole tenant reads (its ``access`` is empty; no group's label is)
PUBLIC_LABEL = ""


def _label_id(tenant: str, label: str) -> int:
    key = f"{len(tenant)}:{tenant}{label}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big", signed=True)


def point_access_ids(tenant: str, labels: Iterable[str]) -> list[int]:
    """Who may read a point, as the integers the access filter matches: a 64-bit BLAKE2b of
    (tenant, label) for each of its labels, or of (tenant, PUBLIC_LABEL) when it has none. One
    integer condition then says "this tenant, and readable": the filter runs on every point an
    HNSW walk reaches, and a tenant keyword test plus a label test cost more (docs/benchmarks.md).
    n distinct (tenant, label) pairs share an id with a chance of ~n²/2⁶⁵."""
    return sorted({_label_id(tenant, label) for label in list(labels) or [PUBLIC_LABEL]})


def reader_access_ids(tenant: str | None, labels: Iterable[str]) -> list[int]:
    """The ids a reader of ``tenant`` with these labels matches: its labels' and the public one."""
    if tenant is None:
        raise ValueError("an access filter reads inside one tenant: the request names none")
    return list(_reader_ids(tenant, frozenset(labels)))


# a caller's labels are the same on each of its requests: hash them once, not per search
@functools.lru_cache(maxsize=4096)
def _reader_ids(tenant: str, labels: frozenset[str]) -> tuple[int, ...]:
    return tuple(point_access_ids(tenant, [*labels, PUBLIC_LABEL]))


def access_payload(tenant: str, labels: Iterable[str]) -> dict[str, list]:
    """The payload fields that say who may read a point of ``tenant``."""
    labels = list(labels)
    return {ACCESS: labels, ACCESS_IDS: point_access_ids(tenant, labels)}


def payload_access_ids(payload: Mapping[str, Any]) -> list[int]:
    """The ``access_ids`` a point with this payload must carry (from its tenant and access)."""
    return point_access_ids(str(payload.get("tenant", "")), payload.get(ACCESS) or ())


def stored_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """A point's payload as the store writes it: its ``access_ids`` derived from its ``tenant``
    and ``access`` (whatever the caller brought)."""
    return {**payload, ACCESS_IDS: payload_access_ids(payload)}


def read_payload(payload: dict[str, Any] | None) -> dict[str, Any]:
    """A payload as the store reads it back: as it was written (``access_ids`` is the store's)."""
    if not payload:
        return {}
    payload.pop(ACCESS_IDS, None)
    return payload


class StoreError(RuntimeError):
    """The store cannot be reached or refused an operation."""


class CollectionNotFoundError(StoreError):
    pass


@dataclass(slots=True)
class PointRecord:
    """One Qdrant point: id = chunk_id, named vectors ``dense`` and ``bm25``, payload."""

    id: str
    dense: list[float]
    sparse: SparseVector
    payload: dict[str, Any]


# where a scroll goes on: the id of the next point (a str or an int, a UUID on Edge), or None
PointOffset = Any


def point_from_vectors(point_id: Any, vectors: dict, payload: dict | None) -> PointRecord:
    """A stored point as read back from either engine (its named vectors as a dict)."""
    sparse = vectors.get(SPARSE)
    return PointRecord(
        str(point_id),
        list(vectors.get(DENSE) or []),
        SparseVector(list(sparse.indices), list(sparse.values)) if sparse else SparseVector(),
        read_payload(payload),
    )


def in_order(ids: list[str], points: list[PointRecord]) -> list[PointRecord]:
    """``points`` in the order of ``ids`` (engines return them in their own), each once."""
    by_id = {p.id: p for p in points}
    return [by_id[i] for i in dict.fromkeys(str(i) for i in ids) if i in by_id]


@dataclass(slots=True)
class Hit:
    id: str
    score: float
    payload: dict[str, Any]


@dataclass(slots=True)
class DocState:
    """What the store knows of one document: enough to skip, replace or prune it.

    ``content_hash`` is "" when the doc's points carry more than one version (a replace cut
    off between upsert and delete_doc), or fewer than the ``chunk_count`` their payload gives (a
    write cut off part-way): it matches no file, so the doc gets re-ingested."""

    doc_id: str
    source: str
    content_hash: str
    points: int = 0
    # the object store's change marker the doc was ingested with ("" for local files, or mixed)
    marker: str = ""
    # who may read it (sorted labels; () the whole tenant); None when its points disagree
    access: tuple[str, ...] | None = ()
    # an e-mail attachment's: the mail's source (it goes and is replaced with the mail)
    parent: str = ""


# "linear" fusion scores a point by dense_weight * cosine + sparse_weight * BM25, read from the
# two prefetches in this order (a point missing from one scores 0 there)
LINEAR_SCORE_VARIABLES = ("$score[0]", "$score[1]")


@dataclass(slots=True)
class FusionConfig:
    method: Literal["rrf", "dbsf", "linear"] = "rrf"
    rrf_k: int = 60
    dense_weight: float = 1.0
    sparse_weight: float = 1.0
    prefetch_limit: int = 50


@dataclass(slots=True)
class SearchRequest:
    dense: list[float] | None = None
    sparse: SparseVector | None = None
    tenant: str | None = None
    limit: int = 10
    fusion: FusionConfig = field(default_factory=FusionConfig)
    doc_ids: list[str] | None = None
    # how the dense part walks the HNSW graph; None: the store's own (RUAI_SEARCH_HNSW_EF /
    # RUAI_SEARCH_EXACT)
    hnsw: HnswSearch | None = None
    # the caller's access labels (ruai.identity.AccessScope): only points whose ``access`` is
    # empty or shares one are found, inside every prefetch. None: no access filter (operators)
    access: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class CollectionVersion:
    """One concrete collection (a version behind an alias, ruai/store/aliases.py) and what built
    it. ``model`` is the dense model setting its vectors came from (a registry alias pinned to
    its version, ``models:/name/3``), ``dim`` their size; both None for a collection nothing
    recorded (ingested before versions existed)."""

    name: str
    model: str | None = None
    dim: int | None = None
    created: str | None = None
    source: str | None = None  # the version it was re-indexed from
    # False: its re-index did not copy every point (the alias never pointed at it); None: not
    # recorded (a version recorded before this field)
    complete: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CollectionVersion:
        return cls(**{key: data.get(key) for key in cls.__dataclass_fields__})


@runtime_checkable
class VectorStore(Protocol):
    def ensure_collection(self, collection: str, dense_dim: int) -> None:
        """Create the collection (dense cosine + sparse bm25 with IDF, payload indexes) if absent;
        raise StoreError if it exists with another dense size."""

    def collection_exists(self, collection: str) -> bool: ...

    def drop_collection(self, collection: str) -> None: ...

    def upsert(self, collection: str, points: list[PointRecord]) -> int:
        """Write points (replacing same ids); return how many were written."""

    def delete_doc(
        self, collection: str, doc_id: str, keep_content_hash: str | None = None
    ) -> None:
        """Delete the doc's points; with keep_content_hash, only those of other versions."""

    def delete_docs(self, collection: str, versions: Mapping[str, str | None]) -> None:
        """``delete_doc`` for many documents in one request: doc_id → the content hash to keep
        (None: delete every point of the doc)."""

    def doc_states(self, collection: str, tenant: str | None = None) -> dict[str, DocState]:
        """Every document in the collection (optionally one tenant's), by doc_id."""

    def retrieve(self, collection: str, ids: list[str]) -> list[PointRecord]:
        """The whole points (vectors and payload) with these ids, in the order given; an id the
        collection does not hold is left out."""

    def set_access(self, collection: str, tenant: str, access: Mapping[str, list[str]]) -> None:
        """Rewrite who may read every point of each of the tenant's doc_ids (its ``access`` and
        ``access_ids``, nothing else)."""

    def search(self, collection: str, request: SearchRequest) -> list[Hit]:
        """Dense-only, sparse-only or hybrid (both given: prefetch each, fuse), filtered to the
        tenant and the access labels inside every prefetch."""

    def count(self, collection: str, tenant: str | None = None) -> int: ...

    def readable_docs(
        self, collection: str, tenant: str, doc_ids: list[str], access: frozenset[str] | None
    ) -> list[str]:
        """Those of ``doc_ids`` that hold points ``access`` may read in the tenant (the search
        filter: a saved answer's sources checked again when it is shown)."""

    def optimize(self, collection: str) -> None:
        """Make the collection fast to query after a bulk write; call it when an ingest ends.
        Edge merges segments and builds its indexes (blocking); a no-op where the engine
        optimizes by itself (Qdrant server) or has nothing to optimize (client local mode)."""

    def snapshot(self, collection: str, target_dir: Path) -> Path:
        """Write a snapshot of the collection under target_dir and return its path."""

    def close(self) -> None: ...

    # -- versions behind an alias (ruai/store/aliases.py); every call above resolves an alias

    def scroll_points(
        self, collection: str, offset: PointOffset = None, limit: int = ...
    ) -> tuple[list[PointRecord], PointOffset]:
        """One page of whole points and the offset of the next page (None at the end)."""

    def collection_names(self) -> list[str]:
        """The concrete collections (aliases left out)."""

    def version_of(self, collection: str) -> CollectionVersion:
        """The concrete collection an alias (or a concrete name) stands for, with its record."""

    def versions_of(self, alias: str) -> list[CollectionVersion]:
        """The versions ``<alias>__v<N>`` that exist, oldest first."""

    def alias_targets(self) -> dict[str, str]: ...

    def flip_alias(self, alias: str, version: str) -> str | None:
        """Point ``alias`` at ``version`` atomically; return the version it pointed at."""

    def record_version(self, version: CollectionVersion) -> None: ...

    def adopt_collection(self, collection: str, version: CollectionVersion) -> None:
        """Move the plain collection ``collection`` to ``version.name`` behind an alias of the
        old name (once, before its first re-index)."""


def store_methods() -> tuple[str, ...]:
    """The names of the VectorStore protocol's methods, in the order it declares them: what a
    proxy that forwards the protocol (raystore/) implements."""
    return tuple(
        name
        for name, value in vars(VectorStore).items()
        if callable(value) and not name.startswith("_")
    )
