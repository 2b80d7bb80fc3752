"""Answer metrics: SQuAD's exact match and token F1 with the normalisation adapted to Russian
(NFKC, case, ё -> е, punctuation and extra whitespace removed; Russian has no articles to drop),
and what a reader of an answer with [n] citations sees: is the gold answer in the first cited
statement, anywhere in the answer, and do the cited passages hold it.

An answer is text with citation markers ``[n]`` after what each passage supports; its *first
statement* is the text before the first marker (the whole text when nothing is cited).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ruai.text.normalize import fold_yo

_CITATION = re.compile(r"\s*\[(\d+)\]")
_INVISIBLE = re.compile("[\ufeff\u00ad\u200b]")


def normalize_answer(text: str) -> str:
    """Lower case, ё -> е, every punctuation or symbol character -> space, whitespace collapsed."""
    text = fold_yo(unicodedata.normalize("NFKC", _INVISIBLE.sub("", text)).lower())
    kept = (" " if unicodedata.category(ch)[0] in "PSZC" else ch for ch in text)
    return " ".join("".join(kept).split())


def answer_tokens(text: str) -> list[str]:
    return normalize_answer(text).split()


def strip_citations(answer: str) -> str:
    return " ".join(_CITATION.sub(" ", answer).split())


def cited_numbers(answer: str) -> list[int]:
    """The passage numbers an answer cites, in order of first citation."""
    return list(dict.fromkeys(int(n) for n in _CITATION.findall(answer)))


def first_statement(answer: str) -> str:
    """The text before the first citation marker (the whole answer if it cites nothing)."""
    match = _CITATION.search(answer)
    return (answer[: match.start()] if match else answer).strip()


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    norm = normalize_answer(prediction)
    return float(any(norm == normalize_answer(gold) for gold in golds))


def token_f1(prediction: str, golds: Sequence[str]) -> float:
    """SQuAD's token F1, best over the gold answers."""
    predicted = answer_tokens(prediction)
    best = 0.0
    for gold in golds:
        expected = answer_tokens(gold)
        common = sum((Counter(predicted) & Counter(expected)).values())
        if common:
            precision, recall = common / len(predicted), common / len(expected)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def contains_answer(text: str, golds: Sequence[str]) -> bool:
    """Does ``text`` hold one of the gold answers as whole normalised tokens?"""
    haystack = f" {normalize_answer(text)} "
    return any((needle := normalize_answer(gold)) and f" {needle} " in haystack for gold in golds)


@dataclass(slots=True)
class AnswerScore:
    """The metrics of one answer; citation_precision is None when it cites no passage."""

    exact_match: float
    f1: float
    gold_in_first: bool
    gold_anywhere: bool
    chars: int
    citation_precision: float | None


def score_answer(
    answer: str, golds: Sequence[str], passages: dict[int, str] | None = None
) -> AnswerScore:
    """EM and F1 of the first statement, gold in it / anywhere, length without citation markers,
    and the share of cited passages (``passages``: number -> text) that hold a gold answer."""
    first = first_statement(answer)
    cited = [n for n in cited_numbers(answer) if passages is not None and n in passages]
    precision = (
        sum(contains_answer(passages[n], golds) for n in cited) / len(cited)
        if cited and passages is not None
        else None
    )
    return AnswerScore(
        exact_match=exact_match(first, golds),
        f1=token_f1(first, golds),
        gold_in_first=contains_answer(first, golds),
        gold_anywhere=contains_answer(answer, golds),
        chars=len(strip_citations(answer)),
        citation_precision=precision,
    )


def answer_report(scores: Sequence[AnswerScore]) -> dict[str, float | int]:
    """Means over questions (citation precision over the answers that cite something)."""
    if not scores:
        raise ValueError("no answers to report on")
    n = len(scores)
    cited = [s.citation_precision for s in scores if s.citation_precision is not None]
    return {
        "exact_match": sum(s.exact_match for s in scores) / n,
        "f1": sum(s.f1 for s in scores) / n,
        "gold_in_first": sum(s.gold_in_first for s in scores) / n,
        "gold_anywhere": sum(s.gold_anywhere for s in scores) / n,
        "mean_chars": sum(s.chars for s in scores) / n,
        "citation_precision": sum(cited) / len(cited) if cited else 0.0,
        "cited_answers": len(cited),
        "questions": n,
    }
