"""The extractive answerer: no LLM, sentences of the retrieved passages, each cited as [n].

Three styles (``RUAI_ANSWER_STYLE``):

- ``ranked`` (default): the sentence that the fitted linear ranker scores best
  (``ruai.llm.sentence_features``: lemma and stem overlap weighted by rarity, the question's
  lemma pairs, the expected answer type, the passage's rank and score, ...), with its citation,
  then the runner-up sentence when its score lies within ``answer_support_margin`` of the best
  and both fit ``answer_ranked_max_chars``: the answer grows only when the ranker is unsure.
- ``concise``: the one sentence that answers the question, with its citation, then at
  most one supporting sentence that holds a question word the first lacks, within
  ``answer_max_chars``. A sentence scores by the share of the question's lemmas it holds, each
  weighted by how rare it is among the candidate sentences (the topic word every passage
  repeats counts little), plus a bonus when it holds the kind of answer the question word asks
  for (когда -> a date, сколько -> a number, кто -> a person, где -> a place;
  ``ruai.llm.answer_type``), less a penalty for passages ranked or scored below the first.
- ``sentences`` (the earlier behaviour, kept for comparison): the ``answer_sentences`` sentences
  sharing the most lemmas with the question, best first.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ruai.llm.answer_type import AnswerType, expected_answer_type, holds_answer_type
from ruai.llm.passages import Passage
from ruai.llm.sentence_features import (
    FEATURES,
    Candidate,
    feature_matrix,
    ranker_scores,
    sentence_candidates,
)
from ruai.settings import Settings
from ruai.text.lemmas import Lemmatizer
from ruai.text.sentences import split_sentences

NO_ANSWER = "В найденных документах нет ответа на этот вопрос."

AnswerStyle = Literal["ranked", "concise", "sentences"]


@dataclass(slots=True)
class _Scored:
    score: float
    rank: int
    passage: Passage
    sentence: str
    lemmas: set[str] = field(default_factory=set)


class ExtractiveAnswerer:
    """The constructor keeps the earlier behaviour for callers that pass only ``max_sentences``;
    ``from_settings`` builds what Settings say (``concise`` by default)."""

    def __init__(
        self,
        lemmatizer: Lemmatizer,
        max_sentences: int = 3,
        *,
        style: AnswerStyle = "sentences",
        max_chars: int = 400,
        type_bonus: float = 0.35,
        rank_penalty: float = 0.08,
        support_ratio: float = 0.5,
        support_margin: float = 2.5,
        weights: dict[str, float] | None = None,
    ) -> None:
        self.lemmatizer = lemmatizer
        self.max_sentences = max_sentences
        self.style = style
        self.max_chars = max_chars
        self.type_bonus = type_bonus
        self.rank_penalty = rank_penalty
        self.support_ratio = support_ratio
        self.support_margin = support_margin
        self.weights = weights

    @classmethod
    def from_settings(
        cls, settings: Settings, lemmatizer: Lemmatizer | None = None
    ) -> ExtractiveAnswerer:
        ranked = settings.answer_style == "ranked"
        return cls(
            lemmatizer or Lemmatizer(cache_size=settings.lemma_cache_size),
            settings.answer_sentences,
            style=settings.answer_style,
            max_chars=settings.answer_ranked_max_chars if ranked else settings.answer_max_chars,
            type_bonus=settings.answer_type_bonus,
            rank_penalty=settings.answer_rank_penalty,
            support_ratio=settings.answer_support_ratio,
            support_margin=settings.answer_support_margin,
        )

    def answer(self, question: str, passages: list[Passage]) -> str:
        """The answer text, each sentence followed by the [n] of its passage."""
        asked = set(self.lemmatizer.lemmas(question))
        if not asked:
            return NO_ANSWER
        if self.style == "ranked":
            chosen: list[_Scored] | list[Candidate] = self.pick(
                *self.candidate_features(question, passages)
            )
        elif self.style == "concise":
            chosen = self._concise(question, asked, passages)
        else:
            chosen = self._most_overlapping(asked, passages)
        return compose(chosen)

    # -- ranked ------------------------------------------------------------------------------

    def candidate_features(
        self, question: str, passages: list[Passage]
    ) -> tuple[list[Candidate], np.ndarray]:
        """The candidate sentences and their ``FEATURES`` rows (independent of the weights)."""
        candidates = sentence_candidates(passages, self.lemmatizer)
        lemmas = self.lemmatizer.lemmas(question)
        if not candidates or not lemmas:
            return [], np.zeros((0, len(FEATURES)))
        kind = expected_answer_type(question)
        return candidates, feature_matrix(question, lemmas, kind, candidates)

    def pick(self, candidates: list[Candidate], features: np.ndarray) -> list[Candidate]:
        """The best-scoring sentence, then the runner-up when it scores within the margin and
        both fit ``max_chars``."""
        if not candidates:
            return []
        scores = ranker_scores(features, self.weights)
        # a sentence sharing neither a lemma nor a word stem with the question answers nothing
        matching = features[:, FEATURES.index("share")] + features[:, FEATURES.index("stem_share")]
        order = [i for i in np.argsort(-scores, kind="stable") if matching[i] > 0]
        if not order:
            return []
        best = candidates[order[0]]
        chosen = [best]
        for i in order[1:]:
            if scores[i] <= scores[order[0]] - self.support_margin:
                break
            if len(best.sentence) + len(candidates[i].sentence) <= self.max_chars:
                chosen.append(candidates[i])
                break
        return chosen

    # -- the earlier behaviour ---------------------------------------------------------------

    def _most_overlapping(self, asked: set[str], passages: list[Passage]) -> list[_Scored]:
        scored = []
        for candidate in self._candidates(passages):
            # earlier passages rank higher: a tie in overlap goes to the better retrieval hit
            passage_weight = 1.0 / (1.0 + 0.1 * (candidate.passage.n - 1))
            candidate.score = len(asked & candidate.lemmas) / len(asked) * passage_weight
            if candidate.score > 0:
                scored.append(candidate)
        return sorted(scored, key=lambda c: (-c.score, c.rank))[: self.max_sentences]

    # -- concise -----------------------------------------------------------------------------

    def _concise(self, question: str, asked: set[str], passages: list[Passage]) -> list[_Scored]:
        candidates = self._candidates(passages)
        if not candidates:
            return []
        kind = expected_answer_type(question)
        weight = _rarity(asked, candidates)
        total = sum(weight.values())
        top_score = max(p.score for p in passages)
        scored = []
        for c in candidates:
            shared = asked & c.lemmas
            if not shared:
                continue
            c.score = sum(weight[lemma] for lemma in shared) / total
            c.score += self._type_score(kind, c, question)
            c.score -= self.rank_penalty * (c.passage.n - 1 + _score_gap(c.passage, top_score))
            scored.append(c)
        if not scored:
            return []
        ranked = sorted(scored, key=lambda c: (-c.score, c.rank))
        best = ranked[0]
        chosen = [best]
        budget = self.max_chars - len(best.sentence)
        missing = asked - best.lemmas
        for other in ranked[1:]:
            if other.score < self.support_ratio * best.score:
                break
            # support adds what the answer lacks: a question word it does not hold
            if len(other.sentence) <= budget and other.lemmas & missing:
                chosen.append(other)
                break
        return chosen

    def _type_score(self, kind: AnswerType, candidate: _Scored, question: str) -> float:
        if kind == "other":
            return 0.0
        held = holds_answer_type(kind, candidate.sentence, candidate.passage.entities, question)
        return self.type_bonus if held else 0.0

    def _candidates(self, passages: list[Passage]) -> list[_Scored]:
        out = []
        for passage in passages:
            for start, end in split_sentences(passage.text):
                sentence = passage.text[start:end]
                lemmas = set(self.lemmatizer.lemmas(sentence))
                out.append(_Scored(0.0, len(out), passage, sentence, lemmas))
        return out


def compose(chosen: list[_Scored] | list[Candidate]) -> str:
    """Each chosen sentence followed by the [n] of its passage; ``NO_ANSWER`` when none."""
    if not chosen:
        return NO_ANSWER
    return " ".join(f"{c.sentence} [{c.passage.n}]" for c in chosen)


def _rarity(asked: set[str], candidates: list[_Scored]) -> dict[str, float]:
    """An IDF of each question lemma over the candidate sentences (never zero)."""
    df = Counter(lemma for c in candidates for lemma in asked & c.lemmas)
    n = len(candidates)
    return {lemma: math.log(1.0 + (n + 1) / (df[lemma] + 0.5)) for lemma in asked}


def _score_gap(passage: Passage, top_score: float) -> float:
    """How far below the best retrieval score a passage lies, 0 (best) to 1."""
    return min(1.0, max(0.0, 1.0 - passage.score / top_score)) if top_score > 0 else 0.0
