"""Answer metrics against a reference (SQuAD style): exact match and token F1 after lowercasing,
ё→е, and dropping punctuation and extra whitespace."""

from __future__ import annotations

import re
from collections import Counter

_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)


def answer_tokens(text: str) -> list[str]:
    return _PUNCT.sub(" ", text.lower().replace("ё", "е")).split()


def exact_match(prediction: str, reference: str) -> float:
    return float(answer_tokens(prediction) == answer_tokens(reference))


def token_f1(prediction: str, reference: str) -> float:
    predicted, gold = answer_tokens(prediction), answer_tokens(reference)
    if not predicted or not gold:
        return float(predicted == gold)
    common = sum((Counter(predicted) & Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(gold)
    return 2 * precision * recall / (precision + recall)
