"""Paragraph-level retrieval evaluation of a collection on a SQuAD-format dataset."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ruai.eval.metrics import retrieval_report
from ruai.eval.paragraph_index import ParagraphIndex, gold_paragraph_id
from ruai.eval.squad import SquadDataset
from ruai.retrieval import Retriever
from ruai.store.base import FusionConfig, SearchRequest

KS = (1, 5, 10)


@dataclass(slots=True)
class EncodedQuestions:
    requests: list[SearchRequest]
    gold: list[str]


def encode_questions(
    retriever: Retriever, dataset: SquadDataset, tenant: str, chunk_limit: int
) -> EncodedQuestions:
    """Encode every question once (dense and sparse) so that modes and fusions reuse them."""
    questions = dataset.questions
    if not questions:
        raise ValueError("the dataset has no questions to evaluate")
    texts = [q.question for q in questions]
    dense = retriever.dense.encode_queries(texts)
    sparse = retriever.sparse.encode_queries(texts)
    requests = [
        SearchRequest(dense=d.tolist(), sparse=s, tenant=tenant, limit=chunk_limit)
        for d, s in zip(dense, sparse, strict=True)
    ]
    return EncodedQuestions(requests, [gold_paragraph_id(q) for q in questions])


def ranked_paragraphs(
    retriever: Retriever,
    collection: str,
    encoded: EncodedQuestions,
    index: ParagraphIndex,
    mode: str,
    fusion: FusionConfig,
) -> list[list[str]]:
    ranked = []
    for base in encoded.requests:
        request = SearchRequest(
            dense=base.dense if mode != "sparse" else None,
            sparse=base.sparse if mode != "dense" else None,
            tenant=base.tenant,
            limit=base.limit,
            fusion=fusion,
        )
        hits = retriever.store.search(collection, request)
        ids = (index.paragraph_of(hit.payload.get("text", "")) for hit in hits)
        ranked.append([pid for pid in ids if pid is not None])
    return ranked


def evaluate_modes(
    retriever: Retriever,
    collection: str,
    dataset: SquadDataset,
    tenant: str,
    fusions: Iterable[tuple[str, FusionConfig]] = (),
    chunk_limit: int = 30,
) -> dict[str, dict]:
    """recall@1/5/10 and MRR@10 for dense-only, sparse-only and each named hybrid fusion."""
    index = ParagraphIndex(dataset.paragraphs)
    encoded = encode_questions(retriever, dataset, tenant, chunk_limit)
    runs = [("dense", "dense", retriever.fusion), ("sparse", "sparse", retriever.fusion)]
    runs.append(("hybrid", "hybrid", retriever.fusion))
    runs.extend((name, "hybrid", fusion) for name, fusion in fusions)
    return {
        name: retrieval_report(
            ranked_paragraphs(retriever, collection, encoded, index, mode, fusion), encoded.gold, KS
        )
        for name, mode, fusion in runs
    }
