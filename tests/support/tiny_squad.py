"""Small SQuAD v1.1 files cut from XQuAD-ru, for tests that train on a few dozen pairs."""

from __future__ import annotations

import json
from pathlib import Path


def write_tiny_squad(
    source: Path, out: Path, articles: int, questions_per_article: int, paragraphs: int = 3
) -> Path:
    """The first ``articles`` articles that have questions, each cut to its first
    ``paragraphs`` paragraphs and ``questions_per_article`` questions."""
    data = json.loads(source.read_text(encoding="utf-8-sig"))["data"]
    kept = []
    for article in data:
        if len(kept) == articles:
            break
        budget, cut = questions_per_article, []
        for paragraph in article["paragraphs"][:paragraphs]:
            qas = paragraph["qas"][:budget]
            budget -= len(qas)
            cut.append({"context": paragraph["context"], "qas": qas})
        if budget == 0:
            kept.append({"title": article["title"], "paragraphs": cut})
    out.write_text(json.dumps({"data": kept}, ensure_ascii=False), encoding="utf-8")
    return out
