"""Qdrant Edge backend: Qdrant's own engine in-process, one shard directory per collection.

A shard lives in exactly one process (an exclusive ``flock`` guards ``root/<collection>/``);
in a Ray cluster one owner actor holds the store and every other task calls it. Shards stay
open for the store's lifetime; ``close()`` flushes and closes them all.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import qdrant_edge as qe

from ruai.store.aliases import EdgeAliasBook, VersionedCollections
from ruai.store.base import (
    ACCESS_IDS,
    DENSE,
    INDEXED_FIELDS,
    LINEAR_SCORE_VARIABLES,
    SPARSE,
    CollectionNotFoundError,
    CollectionVersion,
    DocState,
    FusionConfig,
    Hit,
    PointOffset,
    PointRecord,
    SearchRequest,
    StoreError,
    access_payload,
    in_order,
    point_from_vectors,
    read_payload,
    reader_access_ids,
    stored_payload,
)
from ruai.store.dir_archive import archive_directory
from ruai.store.doc_state_tally import DOC_STATE_FIELDS, DocStateTally
from ruai.store.hnsw import DEFAULT_HNSW_BUILD, DEFAULT_HNSW_SEARCH, HnswBuild, HnswSearch
from ruai.store.search_plan import SearchMode, search_mode
from ruai.store.shard_lock import LOCK_FILE_NAME, ShardLock

# written by EdgeShard.create next to the segments; documented as the shard's persisted config
EDGE_CONFIG_FILE = "edge_config.json"
_COLLECTION_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$")
_SCROLL_PAGE = 4096


@contextmanager
def _engine_errors(action: str) -> Iterator[None]:
    """The Edge bindings raise bare ``Exception`` for engine failures; give them our type."""
    try:
        yield
    except Exception as exc:
        if type(exc) is not Exception:
            raise
        raise StoreError(f"Qdrant Edge could not {action}: {exc}") from exc


@dataclass(slots=True)
class _OpenShard:
    shard: qe.EdgeShard
    lock: ShardLock


class EdgeStore(VersionedCollections):
    """VectorStore on Qdrant Edge shards under ``root``.

    ``hnsw_build`` applies to collections this store creates (persisted in the shard's
    ``edge_config.json``; an existing shard keeps its own); ``hnsw_search`` to every dense
    query that does not bring its own ``SearchRequest.hnsw``. A collection name may be an alias
    of ``aliases.json`` beside the shards (ruai/store/aliases.py): every call resolves it."""

    def __init__(
        self,
        root: Path,
        hnsw_build: HnswBuild = DEFAULT_HNSW_BUILD,
        hnsw_search: HnswSearch = DEFAULT_HNSW_SEARCH,
    ) -> None:
        self.root = Path(root)
        self.hnsw_build = hnsw_build
        self.hnsw_search = hnsw_search
        self.aliases = EdgeAliasBook(self.root)
        self._open: dict[str, _OpenShard] = {}
        # serialises shard lifecycle and writes; queries run concurrently on the open shard
        self._guard = threading.RLock()

    # -- collections -------------------------------------------------------------------------

    def shard_dir(self, collection: str) -> Path:
        if not _COLLECTION_NAME.match(collection) or collection in (".", ".."):
            raise ValueError(
                f"collection name {collection!r} must be letters, digits, '_', '-' or '.' "
                "(it names a directory)"
            )
        return self.root / collection

    def collection_exists(self, collection: str) -> bool:
        return (self.shard_dir(self.aliases.resolve(collection)) / EDGE_CONFIG_FILE).is_file()

    def collection_names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / EDGE_CONFIG_FILE).is_file())

    def adopt_collection(self, collection: str, version: CollectionVersion) -> None:
        """Make the plain collection ``collection`` the version ``version.name`` behind an alias
        of its old name: its shard directory is renamed, under the lock every call takes."""
        with self._guard:
            self._refuse_adopting_a_version(collection)
            opened = self._open.pop(collection, None)
            if opened is not None:
                opened.shard.close()
                opened.lock.release()
            os.rename(self.shard_dir(collection), self.shard_dir(version.name))
            self.aliases.record(version)
            self.aliases.flip(collection, version.name)

    def ensure_collection(self, collection: str, dense_dim: int) -> None:
        with self._guard:
            collection = self.aliases.resolve(collection)
            if self.collection_exists(collection):
                stored = self._stored_dense_dim(collection)
                if stored != dense_dim:
                    raise StoreError(
                        f"collection {collection!r} at {self.shard_dir(collection)} holds "
                        f"{stored}-d dense vectors, the encoder makes {dense_dim}-d ones: use "
                        "another collection name (RUAI_COLLECTION) or drop this one"
                    )
                shard = self._shard(collection)
            else:
                shard = self._create(collection, dense_dim)
            with _engine_errors(f"index the payload of {collection!r}"):
                indexed = set(shard.info().payload_schema)
                for field, kind in INDEXED_FIELDS.items():
                    if field not in indexed:
                        params = (
                            qe.IntegerIndexParams(lookup=True, range=False)
                            if kind == "integer"
                            else qe.KeywordIndexParams(is_tenant=field == "tenant")
                        )
                        shard.update(qe.UpdateOperation.create_field_index(field, params))

    def drop_collection(self, collection: str) -> None:
        with self._guard:
            self._refuse_live_drop(collection)
            path = self.shard_dir(collection)
            opened = self._open.pop(collection, None)
            if opened is not None:
                opened.shard.close()
                lock = opened.lock
            elif path.is_dir():
                lock = ShardLock(path)
                lock.acquire()
            else:
                return
            try:
                shutil.rmtree(path)
            finally:
                lock.release()
            self.aliases.forget(collection)

    # -- writes ------------------------------------------------------------------------------

    def upsert(self, collection: str, points: list[PointRecord]) -> int:
        if not points:
            return 0
        batch = [
            qe.Point(
                p.id,
                {DENSE: p.dense, SPARSE: qe.SparseVector(p.sparse.indices, p.sparse.values)},
                stored_payload(p.payload),
            )
            for p in points
        ]
        with self._guard:
            shard = self._shard(collection)
            with _engine_errors(f"upsert {len(batch)} points into {collection!r}"):
                shard.update(qe.UpdateOperation.upsert_points(batch))
        return len(batch)

    def delete_doc(
        self, collection: str, doc_id: str, keep_content_hash: str | None = None
    ) -> None:
        self.delete_docs(collection, {doc_id: keep_content_hash})

    def delete_docs(self, collection: str, versions: Mapping[str, str | None]) -> None:
        if not versions:
            return
        doc_filter = qe.Filter(
            should=[
                qe.Filter(
                    must=[_match("doc_id", doc_id)],
                    must_not=None if keep is None else [_match("content_hash", keep)],
                )
                for doc_id, keep in versions.items()
            ]
        )
        with self._guard:
            shard = self._shard(collection)
            with _engine_errors(f"delete {len(versions)} docs from {collection!r}"):
                shard.update(qe.UpdateOperation.delete_points_by_filter(doc_filter))

    def set_access(self, collection: str, tenant: str, access: Mapping[str, list[str]]) -> None:
        with self._guard:
            shard = self._shard(collection)
            with _engine_errors(f"set the access of {len(access)} docs in {collection!r}"):
                for doc_id, labels in access.items():
                    shard.update(
                        qe.UpdateOperation.set_payload_by_filter(
                            qe.Filter(must=[_match("doc_id", doc_id), _match("tenant", tenant)]),
                            access_payload(tenant, labels),
                        )
                    )

    def optimize(self, collection: str) -> None:
        """Merge segments and build the HNSW/sparse indexes (blocks until done).

        Edge has no background optimizer: fresh points are searchable at once, from plain
        appendable segments; call this after a large ingest so that queries use indexes.
        """
        with self._guard:
            shard = self._shard(collection)
            with _engine_errors(f"optimize {collection!r}"):
                shard.optimize()

    # -- reads -------------------------------------------------------------------------------

    def count(self, collection: str, tenant: str | None = None) -> int:
        shard = self._shard(collection)
        with _engine_errors(f"count points in {collection!r}"):
            return shard.count(qe.CountRequest(exact=True, filter=_filter(tenant)))

    def readable_docs(
        self, collection: str, tenant: str, doc_ids: list[str], access: frozenset[str] | None
    ) -> list[str]:
        shard = self._shard(collection)
        with _engine_errors(f"count points in {collection!r}"):
            return [
                doc_id
                for doc_id in dict.fromkeys(doc_ids)
                if shard.count(
                    qe.CountRequest(exact=True, filter=_filter(tenant, [doc_id], access))
                )
            ]

    def doc_states(self, collection: str, tenant: str | None = None) -> dict[str, DocState]:
        shard = self._shard(collection)
        tally = DocStateTally()
        selector = qe.PayloadSelector.Include(list(DOC_STATE_FIELDS))
        offset = None
        with _engine_errors(f"scroll {collection!r}"):
            while True:
                request = qe.ScrollRequest(
                    offset=offset,
                    limit=_SCROLL_PAGE,
                    filter=_filter(tenant),
                    with_payload=selector,
                    with_vector=False,
                )
                records, offset = shard.scroll(request)
                for record in records:
                    tally.add(record.payload)
                if offset is None:
                    return tally.states

    def scroll_points(
        self, collection: str, offset: PointOffset = None, limit: int = _SCROLL_PAGE
    ) -> tuple[list[PointRecord], PointOffset]:
        """One page of whole points (vectors and payload) and the offset of the next (None at
        the end): what a re-index reads instead of the source files."""
        shard = self._shard(collection)
        request = qe.ScrollRequest(offset=offset, limit=limit, with_payload=True, with_vector=True)
        with _engine_errors(f"scroll {collection!r}"):
            records, offset = shard.scroll(request)
        return [point_from_vectors(r.id, r.vector, r.payload) for r in records], offset

    def retrieve(self, collection: str, ids: list[str]) -> list[PointRecord]:
        shard = self._shard(collection)
        with _engine_errors(f"retrieve {len(ids)} points from {collection!r}"):
            records = shard.retrieve(list(ids), with_payload=True, with_vector=True)
        return in_order(ids, [point_from_vectors(r.id, r.vector, r.payload) for r in records])

    def search(self, collection: str, request: SearchRequest) -> list[Hit]:
        mode = search_mode(request)
        shard = self._shard(collection)
        where = _filter(request.tenant, request.doc_ids, request.access)
        dense_params = _search_params(request.hnsw or self.hnsw_search)
        if mode is SearchMode.HYBRID:
            fusion = request.fusion
            limit = fusion.prefetch_limit
            query = qe.QueryRequest(
                limit=request.limit,
                prefetches=[
                    qe.Prefetch(limit, query=_dense(request), filter=where, params=dense_params),
                    qe.Prefetch(limit, query=_sparse(request), filter=where),
                ],
                query=_fusion(fusion),
                with_payload=True,
                with_vector=False,
            )
        else:
            dense = mode is SearchMode.DENSE
            query = qe.QueryRequest(
                limit=request.limit,
                query=_dense(request) if dense else _sparse(request),
                filter=where,
                params=dense_params if dense else None,
                with_payload=True,
                with_vector=False,
            )
        with _engine_errors(f"run a {mode} query on {collection!r}"):
            points = shard.query(query)
        return [Hit(str(p.id), p.score, read_payload(p.payload)) for p in points]

    # -- lifecycle ---------------------------------------------------------------------------

    def snapshot(self, collection: str, target_dir: Path) -> Path:
        """A ``.tar.gz`` of the flushed shard directory (Edge can restore snapshots but not
        create them): unpack it into ``<root>/<collection>/`` and open that root with EdgeStore."""
        with self._guard:
            collection = self.aliases.resolve(collection)
            shard = self._shard(collection)
            with _engine_errors(f"flush {collection!r}"):
                shard.flush()
            return archive_directory(
                self.shard_dir(collection),
                Path(target_dir),
                collection,
                exclude=frozenset({LOCK_FILE_NAME}),
            )

    def close(self) -> None:
        with self._guard:
            while self._open:
                collection, opened = self._open.popitem()
                try:
                    with _engine_errors(f"flush {collection!r}"):
                        opened.shard.flush()
                finally:
                    opened.shard.close()
                    opened.lock.release()

    def __enter__(self) -> EdgeStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------

    def _shard(self, collection: str) -> qe.EdgeShard:
        opened = self._open.get(self.aliases.resolve(collection))
        if opened is not None:
            return opened.shard
        with self._guard:
            collection = self.aliases.resolve(collection)  # again: an adoption may have run
            opened = self._open.get(collection)
            if opened is not None:
                return opened.shard
            if not self.collection_exists(collection):
                raise CollectionNotFoundError(
                    f"collection {collection!r} does not exist in the Qdrant Edge store at "
                    f"{self.root}: ingest into it first (or check RUAI_QDRANT_PATH / "
                    "RUAI_COLLECTION)"
                )
            path = self.shard_dir(collection)
            return self._register(collection, path, lambda: qe.EdgeShard.load(str(path)))

    def _create(self, collection: str, dense_dim: int) -> qe.EdgeShard:
        build = self.hnsw_build
        config = qe.EdgeConfig(
            vectors={DENSE: qe.EdgeVectorParams(size=dense_dim, distance=qe.Distance.Cosine)},
            sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
            hnsw_config=qe.HnswIndexConfig(
                m=build.m,
                ef_construct=build.ef_construct,
                full_scan_threshold=build.full_scan_threshold_kb,
                payload_m=build.payload_m,
            ),
            optimizers=qe.EdgeOptimizersConfig(indexing_threshold=build.indexing_threshold_kb),
        )
        path = self.shard_dir(collection)
        return self._register(collection, path, lambda: qe.EdgeShard.create(str(path), config))

    def _register(self, collection: str, path: Path, opener) -> qe.EdgeShard:
        lock = ShardLock(path)
        lock.acquire()
        try:
            with _engine_errors(f"open the shard at {path}"):
                shard = opener()
        except BaseException:
            lock.release()
            raise
        self._open[collection] = _OpenShard(shard, lock)
        return shard

    def _stored_dense_dim(self, collection: str) -> int:
        config = json.loads((self.shard_dir(collection) / EDGE_CONFIG_FILE).read_text("utf-8"))
        return int(config["vectors"][DENSE]["size"])


def _match(key: str, value: str) -> qe.FieldCondition:
    return qe.FieldCondition(key, match=qe.MatchValue(value))


def _filter(
    tenant: str | None,
    doc_ids: list[str] | None = None,
    access: frozenset[str] | None = None,
) -> qe.Filter | None:
    must: list[qe.FieldCondition | qe.Filter] = []
    if access is not None:
        # the ids bind each label to its tenant: matching one is the tenant condition too
        ids = reader_access_ids(tenant, access)
        must.append(qe.FieldCondition(ACCESS_IDS, match=qe.MatchAny(ids)))
    elif tenant is not None:
        must.append(_match("tenant", tenant))
    if doc_ids is not None:
        must.append(qe.FieldCondition("doc_id", match=qe.MatchAny(list(doc_ids))))
    return qe.Filter(must=must) if must else None


def _dense(request: SearchRequest) -> qe.Query:
    return qe.Query.Nearest(request.dense, using=DENSE)


def _search_params(hnsw: HnswSearch) -> qe.SearchParams:
    return qe.SearchParams(hnsw_ef=hnsw.ef, exact=hnsw.exact)


def _sparse(request: SearchRequest) -> qe.Query:
    sparse = request.sparse
    return qe.Query.Nearest(qe.SparseVector(sparse.indices, sparse.values), using=SPARSE)


def _fusion(fusion: FusionConfig) -> qe.Fusion.Rrf | qe.Fusion.Dbsf | qe.Formula:
    if fusion.method == "dbsf":
        return qe.Fusion.Dbsf()
    if fusion.method == "linear":
        dense, sparse = LINEAR_SCORE_VARIABLES
        weighted = [
            qe.Expression.Mult([qe.Expression.Constant(weight), qe.Expression.Variable(var)])
            for weight, var in ((fusion.dense_weight, dense), (fusion.sparse_weight, sparse))
        ]
        return qe.Formula(qe.Expression.Sum(weighted), defaults={dense: 0.0, sparse: 0.0})
    return qe.Fusion.Rrf(k=fusion.rrf_k, weights=[fusion.dense_weight, fusion.sparse_weight])
