"""Paragraph-level retrieval evaluation of a collection on a SQuAD-format dataset."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ruai.encoders.base import DenseEncoder
from ruai.eval.metrics import retrieval_report
from ruai.eval.paragraph_index import ParagraphIndex, gold_paragraph_id
from ruai.eval.squad import SquadDataset
from ruai.retrieval import Mode, QueryVectors, Searcher, search_request
from ruai.store.base import FusionConfig

KS = (1, 5, 10)


@dataclass(slots=True)
class EncodedQuestions:
    vectors: list[QueryVectors]
    gold: list[str]
    tenant: str
    chunk_limit: int
    access: frozenset[str] | None = None  # the searcher's access labels; None: the operator


def encode_questions(
    searcher: Searcher,
    dataset: SquadDataset,
    tenant: str,
    chunk_limit: int,
    dense: DenseEncoder | None = None,
    access: frozenset[str] | None = None,
) -> EncodedQuestions:
    """Encode every question once (dense and sparse) so that modes and fusions reuse them."""
    questions = dataset.questions
    if not questions:
        raise ValueError("the dataset has no questions to evaluate")
    vectors = searcher.encode([q.question for q in questions], dense=dense)
    gold = [gold_paragraph_id(q) for q in questions]
    return EncodedQuestions(vectors, gold, tenant, chunk_limit, access)


def ranked_paragraphs(
    searcher: Searcher,
    collection: str,
    encoded: EncodedQuestions,
    index: ParagraphIndex,
    mode: Mode,
    fusion: FusionConfig,
) -> list[list[str]]:
    ranked = []
    for vectors in encoded.vectors:
        request = search_request(vectors, mode, encoded.tenant, encoded.chunk_limit, fusion,
                                 encoded.access)  # fmt: skip
        hits = searcher.store.search(collection, request)
        ids = (index.paragraph_of(hit.payload.get("text", "")) for hit in hits)
        ranked.append([pid for pid in ids if pid is not None])
    return ranked


def evaluate_modes(
    searcher: Searcher,
    collection: str,
    dataset: SquadDataset,
    tenant: str,
    fusions: Iterable[tuple[str, FusionConfig]] = (),
    chunk_limit: int = 30,
    access: frozenset[str] | None = None,
) -> dict[str, dict]:
    """recall@1/5/10 and MRR@10 for dense-only, sparse-only and each named hybrid fusion.
    An alias is resolved once: every query runs on the version it pointed at, with its model and
    the fusion search uses for that model."""
    index = ParagraphIndex(dataset.paragraphs)
    version = searcher.store.version_of(collection)
    collection = version.name
    dense = searcher.dense_for(version)
    encoded = encode_questions(searcher, dataset, tenant, chunk_limit, dense, access)
    served = searcher.fusion_for(dense)  # what search uses for this version's model
    runs = [("dense", "dense", served), ("sparse", "sparse", served), ("hybrid", "hybrid", served)]
    runs.extend((name, "hybrid", fusion) for name, fusion in fusions)
    return {
        name: retrieval_report(
            ranked_paragraphs(searcher, collection, encoded, index, mode, fusion), encoded.gold, KS
        )
        for name, mode, fusion in runs
    }
