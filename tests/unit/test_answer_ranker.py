"""The ranked extractive answers (the default style) and the fit of their sentence ranker."""

from __future__ import annotations

import re

from ruai.eval.answer_metrics import first_statement, strip_citations
from ruai.eval.ranker_fit import fit_ranker, ranking_example
from ruai.llm.extractive import NO_ANSWER, ExtractiveAnswerer
from ruai.llm.passages import Passage
from ruai.llm.sentence_features import (
    FEATURES,
    RANKER_WEIGHTS,
    feature_matrix,
    sentence_candidates,
)
from ruai.text.lemmas import Lemmatizer
from tests.unit.test_llm_extractive import TESLA

LEMMATIZER = Lemmatizer()
# overlapping chunks share a sentence, as the chunker's one-sentence overlap makes them
WARSAW = Passage(
    2,
    "Тесла умер в Нью-Йорке 7 января 1943 года. Варшава стоит на Висле. "
    "Население Варшавы — 1,8 миллиона человек.",
    "warsaw.md",
    "c2",
    0.4,
)


def ranked(**options) -> ExtractiveAnswerer:
    return ExtractiveAnswerer(LEMMATIZER, style="ranked", **options)


def test_shipped_ranker_leads_with_the_answering_sentence() -> None:
    assert set(RANKER_WEIGHTS) == set(FEATURES)
    text = ranked(support_margin=0.0).answer("Когда умер Тесла?", [TESLA, WARSAW])
    assert text == "Тесла умер в Нью-Йорке 7 января 1943 года. [1]"
    text = ranked().answer("В каком году Тесла переехал в Париж?", [TESLA, WARSAW])
    assert first_statement(text).startswith("В 1882 году Тесла переехал в Париж")
    text = ranked().answer("Сколько человек живёт в Варшаве?", [TESLA, WARSAW])
    assert first_statement(text) == "Население Варшавы — 1,8 миллиона человек."
    assert ranked().answer("Кто написал Войну и мир?", [WARSAW]) == NO_ANSWER
    assert ranked().answer("Когда умер Тесла?", []) == NO_ANSWER


def test_a_support_sentence_only_within_the_margin_and_the_cap() -> None:
    question = "Где жил Тесла?"
    one = ranked(support_margin=0.0).answer(question, [TESLA, WARSAW])
    two = ranked(support_margin=100.0, max_chars=1000).answer(question, [TESLA, WARSAW])
    capped = ranked(support_margin=100.0, max_chars=80).answer(question, [TESLA, WARSAW])
    assert len(re.findall(r"\[\d\]", one)) == 1
    assert len(re.findall(r"\[\d\]", two)) == 2 and two.startswith(one)
    assert len(re.findall(r"\[\d\]", capped)) == 1 or len(strip_citations(capped)) <= 81
    # the sentence two chunks share is one candidate, in the better-ranked passage
    candidates = sentence_candidates([TESLA, WARSAW], LEMMATIZER)
    died = [c for c in candidates if c.sentence.startswith("Тесла умер")]
    assert len(died) == 1 and died[0].passage.n == 1


def test_each_feature_column_holds_what_its_name_says() -> None:
    question = "Где жил Тесла?"
    candidates = sentence_candidates([TESLA, WARSAW], LEMMATIZER)
    rows = feature_matrix(question, LEMMATIZER.lemmas(question), "place", candidates)
    column = {name: rows[:, FEATURES.index(name)] for name in FEATURES}
    for c, names, rank in zip(candidates, column["names"], column["rank"], strict=True):
        assert names == (1.0 if "Тесл" in c.sentence else 0.0) and rank == c.passage.n - 1
    assert set(column["type_held"]) <= {0.0, 1.0}
    assert (column["type_held"] + column["type_missing"] == 1.0).all()
    assert ((column["stem_idf_share"] >= 0) & (column["stem_idf_share"] <= 1)).all()
    assert (column["log_chars"] > 2).all() and (column["score_gap"][:2] == 0).all()


def test_fitted_weights_rank_the_gold_sentences_first() -> None:
    training = [
        ("Когда умер Тесла?", ["7 января 1943 года"]),
        ("Где родился Тесла?", ["Смилянах"]),
        ("В каком году Тесла переехал в Париж?", ["1882"]),
        ("Сколько человек живёт в Варшаве?", ["1,8 миллиона"]),
        ("На какой реке стоит Варшава?", ["Висле"]),
    ]
    featurer = ranked()
    examples = [
        ranking_example(golds, *featurer.candidate_features(q, [TESLA, WARSAW]))
        for q, golds in training
    ]
    assert all(e is not None for e in examples)
    shakespeare = featurer.candidate_features("Кто такой Шекспир?", [TESLA])
    assert shakespeare[0] and ranking_example(["драматург"], *shakespeare) is None
    weights = fit_ranker(examples)
    assert set(weights) == set(FEATURES) and any(w != 0 for w in weights.values())
    answerer = ranked(weights=weights, support_margin=0.0)
    for question, golds in training:
        assert golds[0] in answerer.answer(question, [TESLA, WARSAW])
