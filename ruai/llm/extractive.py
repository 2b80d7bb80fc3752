"""The extractive answerer: no LLM, the retrieved sentences that share the most lemmas with the
question, each cited as [n] of its passage."""

from __future__ import annotations

from dataclasses import dataclass

from ruai.llm.passages import Passage
from ruai.text.lemmas import Lemmatizer
from ruai.text.sentences import split_sentences

NO_ANSWER = "В найденных документах нет ответа на этот вопрос."


@dataclass(slots=True)
class _Scored:
    score: float
    rank: int
    passage: Passage
    sentence: str


class ExtractiveAnswerer:
    def __init__(self, lemmatizer: Lemmatizer, max_sentences: int = 3) -> None:
        self.lemmatizer = lemmatizer
        self.max_sentences = max_sentences

    def answer(self, question: str, passages: list[Passage]) -> str:
        """The ``max_sentences`` best sentences, best first, each followed by its [n]."""
        asked = set(self.lemmatizer.lemmas(question))
        if not asked:
            return NO_ANSWER
        scored = [
            candidate for candidate in self._sentences(passages, asked) if candidate.score > 0
        ]
        if not scored:
            return NO_ANSWER
        best = sorted(scored, key=lambda c: (-c.score, c.rank))[: self.max_sentences]
        return " ".join(f"{c.sentence} [{c.passage.n}]" for c in best)

    def _sentences(self, passages: list[Passage], asked: set[str]) -> list[_Scored]:
        out = []
        for passage in passages:
            # earlier passages rank higher: a tie in overlap goes to the better retrieval hit
            passage_weight = 1.0 / (1.0 + 0.1 * (passage.n - 1))
            for start, end in split_sentences(passage.text):
                sentence = passage.text[start:end]
                lemmas = set(self.lemmatizer.lemmas(sentence))
                overlap = len(asked & lemmas) / len(asked)
                out.append(_Scored(overlap * passage_weight, len(out), passage, sentence))
        return out
