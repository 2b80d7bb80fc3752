"""Evaluation: SQuAD-format readers, paragraph-level retrieval metrics, answer metrics, the sample
corpus."""

from ruai.eval.answer_metrics import answer_report, exact_match, score_answer, token_f1
from ruai.eval.metrics import mrr_at_k, recall_at_k, retrieval_report
from ruai.eval.paragraph_index import ParagraphIndex, gold_paragraph_id, normalise_for_matching
from ruai.eval.sample_corpus import replicate_corpus, write_sample_corpus
from ruai.eval.squad import (
    Paragraph,
    Question,
    SquadDataset,
    SquadFormatError,
    article_folds,
    read_squad,
    split_by_article,
)

__all__ = [
    "Paragraph",
    "ParagraphIndex",
    "Question",
    "SquadDataset",
    "SquadFormatError",
    "answer_report",
    "article_folds",
    "exact_match",
    "gold_paragraph_id",
    "mrr_at_k",
    "normalise_for_matching",
    "read_squad",
    "recall_at_k",
    "replicate_corpus",
    "retrieval_report",
    "score_answer",
    "split_by_article",
    "token_f1",
    "write_sample_corpus",
]
