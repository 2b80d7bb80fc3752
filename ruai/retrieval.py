"""The one search path: (query, mode, tenant filter, top-k) → a store request, shared by
`jobs.search`, evaluation, benchmarks and the Serve ``Search`` deployment.

A collection name may be an alias of a versioned collection (ruai/store/aliases.py): a caller
resolves it once per query (``store.version_of``), encodes with ``Searcher.dense_for(version)``
(the dense model that version was embedded with) and searches the concrete version, so a query
never meets vectors of another model even while the alias flips.

A search is a ``Query`` (question, tenant, top-k, mode, access labels, the collection version
and an arm's fusion weight). ``Searcher.requests`` turns a batch of them into store requests (one
encoder call per dense model, only the vectors the modes need) and ``search_request`` is the only
place a mode picks vectors; the store call is the caller's (blocking ``store.search`` or Serve's
awaited ``store.search_async``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, get_args

from ruai.encoders.base import DenseEncoder, SparseEncoder, SparseVector
from ruai.encoders.e5_small import NAME as E5_SMALL
from ruai.lifecycle.registry import resolve_dense_model
from ruai.settings import Settings
from ruai.store.aliases import CollectionVersion
from ruai.store.base import FusionConfig, Hit, SearchRequest, StoreError, VectorStore
from ruai.text.lemmas import Lemmatizer
from ruai.text.normalize import canonical_letters

Mode = Literal["hybrid", "dense", "sparse"]
MODES: tuple[str, ...] = get_args(Mode)


# linear fusion adds weight * cosine to BM25: e5's cosines of related texts lie within ~0.1
# of each other, navec's spread wider. Chosen on article folds of the XQuAD-ru dev questions
# (docs/retrieval.md); a model not listed gets navec's
DENSE_WEIGHT_BY_MODEL = {"navec": 4.0, E5_SMALL: 150.0}


def default_dense_weight(dense_model: str) -> float:
    return DENSE_WEIGHT_BY_MODEL.get(dense_model, DENSE_WEIGHT_BY_MODEL["navec"])


def fusion_from(settings: Settings, dense_model: str | None = None) -> FusionConfig:
    """The fusion of Settings for queries encoded by ``dense_model`` (default: Settings')."""
    weight = settings.dense_weight
    if weight is None:
        weight = default_dense_weight(dense_model or settings.dense_model)
    return FusionConfig(
        method=settings.fusion,
        rrf_k=settings.rrf_k,
        dense_weight=weight,
        sparse_weight=settings.sparse_weight,
        prefetch_limit=settings.prefetch_limit,
    )


class ModelMismatchError(StoreError):
    """The query encoder cannot search a collection version (its vectors have another size)."""


@dataclass(slots=True)
class QueryVectors:
    """A query's vectors; a side the mode does not use may be None."""

    dense: list[float] | None
    sparse: SparseVector | None


@dataclass(frozen=True, slots=True)
class Query:
    """One search: ``text`` filtered to ``tenant``, ``top_k`` hits in ``mode``. ``access``: the
    caller's labels (``Principal.access_labels``), None for an operator; ``version``: the
    collection version it searches (its recorded dense model encodes the text), None for this
    searcher's own model; ``dense_weight``: an experiment arm's fusion weight, None for
    Settings'."""

    text: str
    tenant: str
    top_k: int
    mode: Mode = "hybrid"
    access: frozenset[str] | None = None
    version: CollectionVersion | None = None
    dense_weight: float | None = None


def search_request(
    vectors: QueryVectors,
    mode: Mode,
    tenant: str,
    top_k: int,
    fusion: FusionConfig,
    access: frozenset[str] | None = None,
) -> SearchRequest:
    """The store request of one encoded query: the mode keeps the vectors it searches with;
    ``access``: the caller's labels (``Principal.access_labels``), None for an operator."""
    if mode not in MODES:
        raise ValueError(f"search mode must be one of {MODES}, not {mode!r}")
    if not tenant:
        raise ValueError("every search is filtered to one tenant; none was given")
    if (mode != "sparse" and vectors.dense is None) or (mode != "dense" and vectors.sparse is None):
        raise ValueError(f"mode {mode!r} needs vectors the query was not encoded with")
    return SearchRequest(
        dense=vectors.dense if mode != "sparse" else None,
        sparse=vectors.sparse if mode != "dense" else None,
        tenant=tenant,
        limit=top_k,
        fusion=fusion,
        access=access,
    )


class Searcher:
    """Query encoders (dense + BM25) and the store ``search`` queries (None for a caller that
    makes the store call itself, as Serve's ``Search`` deployment does)."""

    def __init__(
        self,
        settings: Settings,
        store: VectorStore | None,
        dense: DenseEncoder,
        sparse: SparseEncoder,
        fusion: FusionConfig | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.dense = dense
        self.sparse = sparse
        self.fusion = fusion or fusion_from(settings, dense.name)
        self._fusion_given = fusion is not None
        self._dense_by_model: dict[str, DenseEncoder] = {settings.dense_model: dense}

    @classmethod
    def from_settings(
        cls, settings: Settings, store: VectorStore | None, lemmatizer: Lemmatizer | None = None
    ) -> Searcher:
        from ruai.encoders.factory import build_dense_encoder, build_sparse_encoder

        lemmatizer = lemmatizer or Lemmatizer(cache_size=settings.lemma_cache_size)
        return cls(
            settings,
            store,
            build_dense_encoder(resolve_dense_model(settings), lemmatizer),
            build_sparse_encoder(settings, lemmatizer),
        )

    def dense_for(self, version: CollectionVersion) -> DenseEncoder:
        """The query encoder of the dense model ``version`` was embedded with (loaded once; this
        searcher's own when nothing was recorded); a size mismatch fails loudly."""
        model = version.model or self.settings.dense_model
        encoder = self._dense_by_model.get(model)
        if encoder is None:
            from ruai.encoders.factory import build_dense_encoder

            settings = resolve_dense_model(self.settings.model_copy(update={"dense_model": model}))
            encoder = build_dense_encoder(settings, getattr(self.sparse, "lemmatizer", None))
            self._dense_by_model[model] = encoder
        if version.dim is not None and encoder.dim != version.dim:
            raise ModelMismatchError(
                f"collection {version.name!r} holds {version.dim}-d vectors of {model!r}, but "
                f"that model encodes {encoder.dim}-d queries: re-index the collection "
                "(python -m jobs.reindex) or set RUAI_DENSE_MODEL to its model"
            )
        return encoder

    def fusion_for(self, dense: DenseEncoder) -> FusionConfig:
        """The fusion given to this searcher, else Settings' for the model of ``dense`` (a
        collection version of another model fuses with that model's weight)."""
        if self._fusion_given or dense is self.dense:
            return self.fusion
        return fusion_from(self.settings, dense.name)

    def encode(
        self,
        queries: list[str],
        modes: set[str] | None = None,
        dense: DenseEncoder | None = None,
    ) -> list[QueryVectors]:
        """One batch through each encoder the ``modes`` need (default: both); ``dense``
        replaces this searcher's dense encoder (``dense_for`` a collection version)."""
        modes = modes or {"hybrid"}
        queries = [canonical_letters(query) for query in queries]
        encoder = dense or self.dense
        dense = encoder.encode_queries(queries) if modes - {"sparse"} else None
        sparse = self.sparse.encode_queries(queries) if modes - {"dense"} else None
        return [
            QueryVectors(
                dense[i].tolist() if dense is not None else None,
                sparse[i] if sparse is not None else None,
            )
            for i in range(len(queries))
        ]

    def requests(self, queries: list[Query]) -> list[SearchRequest]:
        """The store requests of a batch of queries, in their order: one encoder call per dense
        model (a query bound for a collection version is encoded with that version's model)."""
        encoders = [
            self.dense_for(q.version) if q.version is not None else self.dense for q in queries
        ]
        out: list[SearchRequest | None] = [None] * len(queries)
        for encoder in {id(e): e for e in encoders}.values():
            picked = [i for i, e in enumerate(encoders) if e is encoder]
            batch = [queries[i] for i in picked]
            vectors = self.encode([q.text for q in batch], {q.mode for q in batch}, encoder)
            fusion = self.fusion_for(encoder)
            for i, query, v in zip(picked, batch, vectors, strict=True):
                weighted = fusion
                if query.dense_weight is not None:
                    weighted = replace(fusion, dense_weight=query.dense_weight)
                out[i] = search_request(
                    v, query.mode, query.tenant, query.top_k, weighted, query.access
                )
        return out

    def search(
        self,
        query: str,
        *,
        collection: str | None = None,
        tenant: str | None = None,
        top_k: int | None = None,
        mode: Mode = "hybrid",
        access: frozenset[str] | None = None,
    ) -> list[Hit]:
        if self.store is None:
            raise ValueError("this Searcher was built without a store to search")
        version = self.store.version_of(collection or self.settings.collection)
        (request,) = self.requests(
            [Query(query, tenant or self.settings.tenant, top_k or self.settings.top_k, mode,
                   access, version)]
        )  # fmt: skip
        return self.store.search(version.name, request)
