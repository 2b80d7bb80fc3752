"""qdrant-client backend: a Qdrant server (URL, API key, gRPC preferred) or the client's embedded
local mode (``path=`` directory or ``location=":memory:"``), with the same schema and queries."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import grpc
import httpx
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ApiException

from ruai.store.aliases import ClientAliasBook, VersionedCollections
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
from ruai.store.dir_archive import archive_directory, snapshot_name
from ruai.store.doc_state_tally import DOC_STATE_FIELDS, DocStateTally
from ruai.store.hnsw import DEFAULT_HNSW_BUILD, DEFAULT_HNSW_SEARCH, HnswBuild, HnswSearch
from ruai.store.search_plan import SearchMode, search_mode

_SCROLL_PAGE = 2048
_SERVER_ERRORS = (ApiException, grpc.RpcError, httpx.HTTPError)


class QdrantClientStore(VersionedCollections):
    """VectorStore through ``qdrant-client``: give ``url`` (server), ``path`` or ``location``.

    ``hnsw_build`` goes into collections this store creates, ``hnsw_search`` into every dense
    query that does not bring its own ``SearchRequest.hnsw``. A server honours both; local mode
    has no HNSW (it scans every vector, so it is always exact) and reports Qdrant's defaults.
    A collection name may be one of Qdrant's collection aliases (ruai/store/aliases.py)."""

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        prefer_grpc: bool = True,
        path: Path | str | None = None,
        location: str | None = None,
        timeout: int = 10,
        hnsw_build: HnswBuild = DEFAULT_HNSW_BUILD,
        hnsw_search: HnswSearch = DEFAULT_HNSW_SEARCH,
    ) -> None:
        if sum(x is not None for x in (url, path, location)) != 1:
            raise ValueError("give exactly one of url= (server), path= or location=':memory:'")
        self.url = url
        self.local = url is None
        self._api_key = api_key
        self._prefer_grpc = prefer_grpc
        self.hnsw_build = hnsw_build
        self.hnsw_search = hnsw_search
        self.where = url or (str(path) if path is not None else str(location))
        try:
            if url is not None:
                self._client = QdrantClient(
                    url=url,
                    api_key=api_key,
                    prefer_grpc=prefer_grpc,
                    timeout=timeout,
                    check_compatibility=False,
                )
                self._client.get_collections()
            elif path is not None:
                self._client = QdrantClient(path=str(path))
            else:
                self._client = QdrantClient(location=location)
        except (*_SERVER_ERRORS, RuntimeError) as exc:
            raise StoreError(self._unreachable(exc)) from exc
        self.aliases = ClientAliasBook(self._client)

    def _unreachable(self, exc: Exception) -> str:
        if self.local:
            return f"cannot open the Qdrant local storage at {self.where}: {exc}"
        via = " over gRPC (port 6334)" if self._prefer_grpc else ""
        return (
            f"cannot reach the Qdrant server at {self.url}{via}: {exc}. Check that it runs and "
            "that RUAI_QDRANT_URL and RUAI_QDRANT_API_KEY are right (or set "
            "RUAI_QDRANT_PREFER_GRPC=false if only its REST port is open)"
        )

    # -- collections -------------------------------------------------------------------------

    def collection_exists(self, collection: str) -> bool:
        with self._calls("look up", collection, check_missing=False):
            return self._client.collection_exists(collection)

    def collection_names(self) -> list[str]:
        with self._calls("list", "*", check_missing=False):
            return sorted(c.name for c in self._client.get_collections().collections)

    def adopt_collection(self, collection: str, version: CollectionVersion) -> None:
        """Qdrant cannot rename a collection: copy it (vectors as they are) into ``version``,
        then drop it and create the alias; between those two calls the name is missing."""
        with self._calls("look up the aliases of", collection, check_missing=False):
            self._refuse_adopting_a_version(collection)
        self.ensure_collection(version.name, version.dim)
        offset = None
        while True:
            points, offset = self.scroll_points(collection, offset)
            self.upsert(version.name, points)
            if offset is None:
                break
        self.record_version(version)
        self.drop_collection(collection)
        self.flip_alias(collection, version.name)

    def ensure_collection(self, collection: str, dense_dim: int) -> None:
        with self._calls("look up the aliases of", collection, check_missing=False):
            collection = self.aliases.resolve(collection)  # create or check the version itself
        if self.collection_exists(collection):
            self._check_schema(collection, dense_dim)
        else:
            with self._calls("create", collection, check_missing=False):
                self._client.create_collection(
                    collection,
                    vectors_config={
                        DENSE: models.VectorParams(size=dense_dim, distance=models.Distance.COSINE)
                    },
                    sparse_vectors_config={
                        SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)
                    },
                    hnsw_config=_hnsw_config(self.hnsw_build),
                    optimizers_config=models.OptimizersConfigDiff(
                        indexing_threshold=self.hnsw_build.indexing_threshold_kb
                    ),
                )
        if self.local:
            return  # local mode has no payload indexes (it scans)
        with self._calls("index the payload of", collection):
            for field, kind in INDEXED_FIELDS.items():
                schema = (
                    models.IntegerIndexParams(
                        type=models.IntegerIndexType.INTEGER, lookup=True, range=False
                    )
                    if kind == "integer"
                    else models.KeywordIndexParams(
                        type=models.KeywordIndexType.KEYWORD, is_tenant=field == "tenant"
                    )
                )
                self._client.create_payload_index(collection, field, field_schema=schema)

    def _check_schema(self, collection: str, dense_dim: int) -> None:
        with self._calls("read the schema of", collection):
            params = self._client.get_collection(collection).config.params
        vectors = params.vectors if isinstance(params.vectors, dict) else {}
        sparse = params.sparse_vectors or {}
        if DENSE not in vectors or SPARSE not in sparse:
            raise StoreError(
                f"collection {collection!r} at {self.where} lacks the named vectors "
                f"{DENSE!r}/{SPARSE!r}: it was not made by ruai; use another RUAI_COLLECTION"
            )
        if vectors[DENSE].size != dense_dim:
            raise StoreError(
                f"collection {collection!r} at {self.where} holds {vectors[DENSE].size}-d dense "
                f"vectors, the encoder makes {dense_dim}-d ones: use another collection name "
                "(RUAI_COLLECTION) or drop this one"
            )

    def drop_collection(self, collection: str) -> None:
        self._refuse_live_drop(collection)
        with self._calls("drop", collection, check_missing=False):
            self._client.delete_collection(collection)

    # -- writes ------------------------------------------------------------------------------

    def upsert(self, collection: str, points: list[PointRecord]) -> int:
        if not points:
            return 0
        batch = [
            models.PointStruct(
                id=p.id,
                vector={
                    DENSE: p.dense,
                    SPARSE: models.SparseVector(indices=p.sparse.indices, values=p.sparse.values),
                },
                payload=stored_payload(p.payload),
            )
            for p in points
        ]
        with self._calls(f"upsert {len(batch)} points into", collection):
            self._client.upsert(collection, points=batch, wait=True)
        return len(batch)

    def delete_doc(
        self, collection: str, doc_id: str, keep_content_hash: str | None = None
    ) -> None:
        self.delete_docs(collection, {doc_id: keep_content_hash})

    def delete_docs(self, collection: str, versions: Mapping[str, str | None]) -> None:
        if not versions:
            return
        selector = models.FilterSelector(
            filter=models.Filter(
                should=[
                    models.Filter(
                        must=[_match("doc_id", doc_id)],
                        must_not=None if keep is None else [_match("content_hash", keep)],
                    )
                    for doc_id, keep in versions.items()
                ]
            )
        )
        with self._calls(f"delete {len(versions)} docs from", collection):
            self._client.delete(collection, points_selector=selector, wait=True)

    def set_access(self, collection: str, tenant: str, access: Mapping[str, list[str]]) -> None:
        with self._calls(f"set the access of {len(access)} docs in", collection):
            for doc_id, labels in access.items():
                self._client.set_payload(
                    collection,
                    payload=access_payload(tenant, labels),
                    points=models.FilterSelector(
                        filter=models.Filter(
                            must=[_match("doc_id", doc_id), _match("tenant", tenant)]
                        )
                    ),
                    wait=True,
                )

    def optimize(self, collection: str) -> None:
        """No-op: a server optimizes in the background, local mode has nothing to optimize."""

    # -- reads -------------------------------------------------------------------------------

    def count(self, collection: str, tenant: str | None = None) -> int:
        with self._calls("count points in", collection):
            return self._client.count(collection, count_filter=_filter(tenant), exact=True).count

    def readable_docs(
        self, collection: str, tenant: str, doc_ids: list[str], access: frozenset[str] | None
    ) -> list[str]:
        with self._calls("count points in", collection):
            return [
                doc_id
                for doc_id in dict.fromkeys(doc_ids)
                if self._client.count(
                    collection, count_filter=_filter(tenant, [doc_id], access), exact=True
                ).count
            ]

    def doc_states(self, collection: str, tenant: str | None = None) -> dict[str, DocState]:
        tally = DocStateTally()
        offset = None
        with self._calls("scroll", collection):
            while True:
                records, offset = self._client.scroll(
                    collection,
                    scroll_filter=_filter(tenant),
                    limit=_SCROLL_PAGE,
                    offset=offset,
                    with_payload=list(DOC_STATE_FIELDS),
                    with_vectors=False,
                )
                for record in records:
                    tally.add(record.payload)
                if offset is None:
                    return tally.states

    def scroll_points(
        self, collection: str, offset: PointOffset = None, limit: int = _SCROLL_PAGE
    ) -> tuple[list[PointRecord], PointOffset]:
        """One page of whole points (vectors and payload) and the offset of the next (None at
        the end): what a re-index reads instead of the source files."""
        with self._calls("scroll", collection):
            records, offset = self._client.scroll(
                collection, limit=limit, offset=offset, with_payload=True, with_vectors=True
            )
        return [point_from_vectors(r.id, r.vector, r.payload) for r in records], offset

    def retrieve(self, collection: str, ids: list[str]) -> list[PointRecord]:
        with self._calls(f"retrieve {len(ids)} points from", collection):
            records = self._client.retrieve(
                collection, list(ids), with_payload=True, with_vectors=True
            )
        return in_order(ids, [point_from_vectors(r.id, r.vector, r.payload) for r in records])

    def search(self, collection: str, request: SearchRequest) -> list[Hit]:
        mode = search_mode(request)
        where = _filter(request.tenant, request.doc_ids, request.access)
        # local mode scans every vector (and warns about search params it cannot use)
        dense_params = None if self.local else _search_params(request.hnsw or self.hnsw_search)
        if mode is SearchMode.HYBRID:
            limit = request.fusion.prefetch_limit
            query_args = {
                "prefetch": [
                    models.Prefetch(
                        query=request.dense,
                        using=DENSE,
                        filter=where,
                        limit=limit,
                        params=dense_params,
                    ),
                    models.Prefetch(
                        query=_sparse(request), using=SPARSE, filter=where, limit=limit
                    ),
                ],
                "query": _fusion(request.fusion),
            }
        elif mode is SearchMode.DENSE:
            query_args = {
                "query": request.dense,
                "using": DENSE,
                "query_filter": where,
                "search_params": dense_params,
            }
        else:
            query_args = {"query": _sparse(request), "using": SPARSE, "query_filter": where}
        with self._calls(f"run a {mode} query on", collection):
            response = self._client.query_points(
                collection,
                limit=request.limit,
                with_payload=True,
                with_vectors=False,
                **query_args,
            )
        return [Hit(str(p.id), p.score, read_payload(p.payload)) for p in response.points]

    # -- lifecycle ---------------------------------------------------------------------------

    def snapshot(self, collection: str, target_dir: Path) -> Path:
        """Server: the server's own collection snapshot, downloaded into ``target_dir`` (and
        then deleted on the server). Local mode: the collection copied into a fresh local-mode
        storage directory, packed as ``.tar.gz``; ``QdrantClient(path=<unpacked>)`` opens it."""
        target_dir = Path(target_dir)
        if self.local:
            return self._export_local_snapshot(collection, target_dir)
        with self._calls("snapshot", collection):
            description = self._client.create_snapshot(collection, wait=True)
        return self._download_snapshot(collection, description.name, target_dir)

    def _download_snapshot(self, collection: str, name: str, target_dir: Path) -> Path:
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / snapshot_name(collection).replace(".tar.gz", ".snapshot")
        partial = target.with_name(target.name + ".partial")
        url = f"{self.url.rstrip('/')}/collections/{collection}/snapshots/{name}"
        headers = {"api-key": self._api_key} if self._api_key else {}
        try:
            with httpx.stream("GET", url, headers=headers, timeout=600) as response:
                response.raise_for_status()
                with partial.open("wb") as out:
                    for block in response.iter_bytes(1 << 20):
                        out.write(block)
        except httpx.HTTPError as exc:
            raise StoreError(f"cannot download snapshot {name} of {collection!r}: {exc}") from exc
        partial.replace(target)
        with self._calls("delete the server copy of a snapshot of", collection):
            self._client.delete_snapshot(collection, name, wait=True)
        return target

    def _export_local_snapshot(self, collection: str, target_dir: Path) -> Path:
        with self._calls("read the schema of", collection):
            dim = self._client.get_collection(collection).config.params.vectors[DENSE].size
        with tempfile.TemporaryDirectory(prefix="ruai-snapshot-") as staging:
            export = QdrantClientStore(path=Path(staging))
            try:
                export.ensure_collection(collection, dim)
                offset = None
                while True:
                    with self._calls("scroll", collection):
                        records, offset = self._client.scroll(
                            collection,
                            limit=_SCROLL_PAGE,
                            offset=offset,
                            with_payload=True,
                            with_vectors=True,
                        )
                    points = [
                        models.PointStruct(id=r.id, vector=r.vector, payload=r.payload)
                        for r in records
                    ]
                    if points:
                        export._client.upsert(collection, points=points, wait=True)
                    if offset is None:
                        break
            finally:
                export.close()
            return archive_directory(
                Path(staging), target_dir, collection, exclude=frozenset({".lock"})
            )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> QdrantClientStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------

    @contextmanager
    def _calls(self, action: str, collection: str, check_missing: bool = True) -> Iterator[None]:
        """Turn a missing collection into CollectionNotFoundError and any other failure into a
        StoreError that says where (local mode raises ValueError for both)."""
        try:
            yield
        except (*_SERVER_ERRORS, ValueError) as exc:
            if check_missing and not self._exists_after_failure(collection):
                raise CollectionNotFoundError(
                    f"collection {collection!r} does not exist in Qdrant at {self.where}: "
                    "ingest into it first (or check RUAI_COLLECTION)"
                ) from exc
            raise StoreError(
                f"Qdrant at {self.where} could not {action} collection {collection!r}: {exc}"
            ) from exc

    def _exists_after_failure(self, collection: str) -> bool:
        try:
            return self._client.collection_exists(collection)
        except _SERVER_ERRORS as exc:
            raise StoreError(self._unreachable(exc)) from exc


def _match(key: str, value: str) -> models.FieldCondition:
    return models.FieldCondition(key=key, match=models.MatchValue(value=value))


def _filter(
    tenant: str | None,
    doc_ids: list[str] | None = None,
    access: frozenset[str] | None = None,
) -> models.Filter | None:
    must: list[models.FieldCondition | models.Filter] = []
    if access is not None:
        # the ids bind each label to its tenant: matching one is the tenant condition too
        ids = reader_access_ids(tenant, access)
        must.append(models.FieldCondition(key=ACCESS_IDS, match=models.MatchAny(any=ids)))
    elif tenant is not None:
        must.append(_match("tenant", tenant))
    if doc_ids is not None:
        must.append(models.FieldCondition(key="doc_id", match=models.MatchAny(any=list(doc_ids))))
    return models.Filter(must=must) if must else None


def _hnsw_config(build: HnswBuild) -> models.HnswConfigDiff:
    return models.HnswConfigDiff(
        m=build.m,
        ef_construct=build.ef_construct,
        full_scan_threshold=build.full_scan_threshold_kb,
        payload_m=build.payload_m,
    )


def _search_params(hnsw: HnswSearch) -> models.SearchParams:
    """What a dense query (or prefetch) sends to the server for ``hnsw``."""
    return models.SearchParams(hnsw_ef=hnsw.ef, exact=hnsw.exact)


def _sparse(request: SearchRequest) -> models.SparseVector:
    return models.SparseVector(indices=request.sparse.indices, values=request.sparse.values)


def _fusion(fusion: FusionConfig) -> models.RrfQuery | models.FusionQuery | models.FormulaQuery:
    if fusion.method == "dbsf":
        return models.FusionQuery(fusion=models.Fusion.DBSF)
    if fusion.method == "linear":
        dense, sparse = LINEAR_SCORE_VARIABLES
        weighted = [
            models.MultExpression(mult=[weight, var])
            for weight, var in ((fusion.dense_weight, dense), (fusion.sparse_weight, sparse))
        ]
        return models.FormulaQuery(
            formula=models.SumExpression(sum=weighted), defaults={dense: 0.0, sparse: 0.0}
        )
    return models.RrfQuery(
        rrf=models.Rrf(k=fusion.rrf_k, weights=[fusion.dense_weight, fusion.sparse_weight])
    )
