from __future__ import annotations

import re

from ruai.llm.extractive import NO_ANSWER, ExtractiveAnswerer
from ruai.llm.passages import Passage, passages_from_hits
from ruai.store.base import Hit
from ruai.text.lemmas import Lemmatizer

PASSAGES = [
    Passage(1, "Никола Тесла родился в 1856 году. Он работал у Эдисона.", "tesla.md", "c1", 0.9),
    Passage(2, "Варшава стоит на Висле. Тесла умер в Нью-Йорке в 1943 году.", "mix.md", "c2", 0.5),
]


def answerer(max_sentences: int = 2) -> ExtractiveAnswerer:
    return ExtractiveAnswerer(Lemmatizer(), max_sentences)


def test_best_sentences_first_each_cited() -> None:
    text = answerer(1).answer("Когда умер Тесла?", PASSAGES)
    assert text == "Тесла умер в Нью-Йорке в 1943 году. [2]"
    text = answerer(2).answer("В каком году умер Никола Тесла?", PASSAGES)
    cited = re.findall(r"\[(\d)\]", text)
    assert cited == ["1", "2"] and "1943" in text and "1856" in text


def test_no_overlap_or_no_passages_says_so() -> None:
    assert answerer().answer("Кто написал Войну и мир?", PASSAGES) == NO_ANSWER
    assert answerer().answer("Когда умер Тесла?", []) == NO_ANSWER
    assert answerer().answer("", PASSAGES) == NO_ANSWER


def test_passages_from_hits_number_from_one_and_cite_snippets() -> None:
    hits = [Hit("id-a", 0.7, {"text": "а" * 500, "source": "a.md", "title": "A"}),
            Hit("id-b", 0.2, {"text": "б", "source": "b.md"})]  # fmt: skip
    passages = passages_from_hits(hits)
    assert [(p.n, p.chunk_id, p.source) for p in passages] == [
        (1, "id-a", "a.md"),
        (2, "id-b", "b.md"),
    ]
    citation = passages[0].citation()
    assert set(citation) == {"n", "source", "chunk_id", "score", "title", "snippet"}
    assert len(citation["snippet"]) < 500
