"""Features of a candidate answer sentence for a question, and the linear ranker over them.

Each candidate is one sentence of a retrieved passage. Its features (``FEATURES``, all cheap:
lemma sets and positions, regexes, the stored natasha entities) describe how well it matches the
question -- the IDF-weighted share of the question's lemmas it holds (IDF over the candidate
sentences, so the topic word every passage repeats counts little), the question's lemma pairs it
holds in order, how close together its matches lie -- whether it holds the kind of answer the
question word asks for (``ruai.llm.answer_type``), how much it says beyond the question, and
where its passage stands in the retrieval (rank, score below the best, the passage's and the
previous sentence's match). A sentence's score is the dot product with ``RANKER_WEIGHTS``, a
logistic regression fitted by ``benchmarks/answers.py`` on the XQuAD-ru dev questions (label:
the sentence holds a gold answer); the benchmark reports it cross-validated over article folds,
fitted on the other folds' questions only.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ruai.llm.answer_type import AnswerType, holds_answer_type
from ruai.llm.passages import Passage
from ruai.text.lemmas import Lemmatizer
from ruai.text.normalize import fold_yo
from ruai.text.sentences import split_sentences

_STEM = 5
_WORDS = re.compile(r"[0-9a-zа-яё]+")
_WORDS_CASED = re.compile(r"[0-9A-Za-zА-ЯЁа-яё]+")

FEATURES = (
    "idf_share",
    "share",
    "pairs",
    "proximity",
    "stem_share",
    "names",
    "stem_idf_share",
    "type_held",
    "type_missing",
    "novel",
    "log_chars",
    "passage_share",
    "previous_share",
    "rank",
    "score_gap",
)

# Fitted by ``python benchmarks/answers.py`` on all 632 dev questions (its "ranker_weights");
# the numbers it reports come from weights fitted on the other article folds only.
RANKER_WEIGHTS: dict[str, float] = {
    "idf_share": 0.9209,
    "share": 1.2049,
    "pairs": -0.034,
    "proximity": 0.1505,
    "stem_share": 2.4236,
    "names": 0.1021,
    "stem_idf_share": 3.3035,
    "type_held": 1.202,
    "type_missing": -1.202,
    "novel": -0.4695,
    "log_chars": 0.4025,
    "passage_share": 1.4751,
    "previous_share": 0.4711,
    "rank": -0.4771,
    "score_gap": -2.8337,
}


@dataclass(slots=True)
class Candidate:
    """One sentence of a passage; ``position`` is its index among the passage's sentences."""

    rank: int
    passage: Passage
    sentence: str
    position: int
    lemmas: list[str]
    lemma_set: set[str] = field(default_factory=set)
    stems: set[str] = field(default_factory=set)
    score: float = 0.0

    def __post_init__(self) -> None:
        self.lemma_set = set(self.lemmas)
        self.stems = word_stems(self.sentence)


def word_stems(text: str) -> set[str]:
    """The first ``_STEM`` letters of each word of 3+ letters, lower-cased, ё folded: matches
    the forms of a name pymorphy does not know (Норман, Нормана, Норманом) where lemmas do not."""
    return {w[:_STEM] for w in _WORDS.findall(fold_yo(text.lower())) if len(w) >= 3}


def name_stems(text: str) -> set[str]:
    """Stems of the capitalised words after the first word: the names a question mentions."""
    words = _WORDS_CASED.findall(text)[1:]
    return {fold_yo(w.lower())[:_STEM] for w in words if w[0].isupper() and len(w) >= 3}


_QUESTION_STEMS = word_stems(
    "что кто кого кому кем чем чего когда где куда откуда сколько какой какая какое какие каких "
    "каким какому каком почему зачем как каков какова каково каковы чей чья чьи был была было были"
)


def sentence_candidates(passages: list[Passage], lemmatizer: Lemmatizer) -> list[Candidate]:
    """Every sentence of the passages, best passage first; a sentence that two overlapping chunks
    share is kept once, in the better-ranked passage."""
    seen: set[str] = set()
    out: list[Candidate] = []
    for passage in passages:
        for position, (start, end) in enumerate(split_sentences(passage.text)):
            sentence = passage.text[start:end]
            if sentence not in seen:
                seen.add(sentence)
                out.append(
                    Candidate(len(out), passage, sentence, position, lemmatizer.lemmas(sentence))
                )
    return out


def idf_weights(asked: set[str], candidates: list[Candidate]) -> dict[str, float]:
    """An IDF of each question lemma over the candidate sentences (never zero)."""
    df = Counter(lemma for c in candidates for lemma in asked & c.lemma_set)
    n = len(candidates)
    return {lemma: math.log(1.0 + (n + 1) / (df[lemma] + 0.5)) for lemma in asked}


def feature_matrix(
    question: str,
    question_lemmas: list[str],
    kind: AnswerType,
    candidates: list[Candidate],
) -> np.ndarray:
    """One row of ``FEATURES`` per candidate."""
    asked = set(question_lemmas)
    weight = idf_weights(asked, candidates)
    total = sum(weight.values()) or 1.0
    pairs = {(a, b) for a, b in zip(question_lemmas, question_lemmas[1:], strict=False) if a != b}
    question_stems = word_stems(question) - _QUESTION_STEMS
    names = name_stems(question)
    stem_df = Counter(s for c in candidates for s in question_stems & c.stems)
    stem_weight = {
        s: math.log(1.0 + (len(candidates) + 1) / (stem_df[s] + 0.5)) for s in question_stems
    }
    stem_total = sum(stem_weight.values()) or 1.0
    top_score = max(c.passage.score for c in candidates)
    by_passage: dict[int, set[str]] = {}
    for c in candidates:
        by_passage.setdefault(c.passage.n, set()).update(c.lemma_set)
    previous: dict[tuple[int, int], set[str]] = {
        (c.passage.n, c.position): c.lemma_set for c in candidates
    }

    def share(lemmas: set[str]) -> float:
        return sum(weight[lemma] for lemma in asked & lemmas) / total

    rows = np.zeros((len(candidates), len(FEATURES)), dtype=np.float64)
    for i, c in enumerate(candidates):
        shared = asked & c.lemma_set
        held = kind != "other" and holds_answer_type(kind, c.sentence, c.passage.entities, question)
        positions = [p for p, lemma in enumerate(c.lemmas) if lemma in shared]
        span = positions[-1] - positions[0] + 1 if positions else 0
        sentence_pairs = set(zip(c.lemmas, c.lemmas[1:], strict=False))
        gap = 1.0 - c.passage.score / top_score if top_score > 0 else 0.0
        values = {
            "idf_share": share(c.lemma_set),
            "share": len(shared) / len(asked) if asked else 0.0,
            "pairs": len(pairs & sentence_pairs) / len(pairs) if pairs else 0.0,
            "proximity": len(shared) / span if len(shared) > 1 else 0.0,
            "stem_share": (
                len(question_stems & c.stems) / len(question_stems) if question_stems else 0.0
            ),
            "names": len(names & c.stems) / len(names) if names else 0.0,
            "stem_idf_share": sum(stem_weight[s] for s in question_stems & c.stems) / stem_total,
            "type_held": float(held),
            "type_missing": float(kind != "other" and not held),
            "novel": math.log1p(len(c.lemma_set - asked)),
            "log_chars": math.log(1 + len(c.sentence)),
            "passage_share": share(by_passage[c.passage.n]),
            "previous_share": share(previous.get((c.passage.n, c.position - 1), set())),
            "rank": c.passage.n - 1,
            "score_gap": min(1.0, max(0.0, gap)),
        }
        rows[i] = [values[name] for name in FEATURES]
    return rows


def ranker_scores(features: np.ndarray, weights: dict[str, float] | None = None) -> np.ndarray:
    w = weights or RANKER_WEIGHTS
    return features @ np.array([w.get(name, 0.0) for name in FEATURES])
