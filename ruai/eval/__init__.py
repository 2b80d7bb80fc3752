"""Evaluation: SQuAD-format readers, paragraph-level retrieval metrics, the sample corpus."""

from ruai.eval.metrics import mrr_at_k, recall_at_k, retrieval_report
from ruai.eval.paragraph_index import ParagraphIndex, gold_paragraph_id, normalise_for_matching
from ruai.eval.sample_corpus import replicate_corpus, write_sample_corpus
from ruai.eval.squad import (
    Paragraph,
    Question,
    SquadDataset,
    SquadFormatError,
    read_squad,
    split_by_article,
)

__all__ = [
    "Paragraph",
    "ParagraphIndex",
    "Question",
    "SquadDataset",
    "SquadFormatError",
    "gold_paragraph_id",
    "mrr_at_k",
    "normalise_for_matching",
    "read_squad",
    "recall_at_k",
    "replicate_corpus",
    "retrieval_report",
    "split_by_article",
    "write_sample_corpus",
]
