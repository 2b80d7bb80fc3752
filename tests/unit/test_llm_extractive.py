from __future__ import annotations

import re
from dataclasses import replace

import pytest

from ruai.eval.answer_metrics import first_statement, strip_citations
from ruai.llm.answer_type import expected_answer_type, holds_answer_type
from ruai.llm.extractive import NO_ANSWER, ExtractiveAnswerer
from ruai.llm.passages import Passage, passages_from_hits
from ruai.settings import Settings
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


# -- concise answers (the default style) -----------------------------------------------------

TESLA = Passage(
    1,
    "Никола Тесла — изобретатель в области электротехники. Тесла родился в Смилянах. "
    "В 1882 году Тесла переехал в Париж и работал в компании Эдисона. "
    "Тесла умер в Нью-Йорке 7 января 1943 года. Его именем названа единица индукции.",
    "tesla.md",
    "c1",
    0.9,
)


@pytest.fixture(scope="module")
def tesla_with_entities() -> Passage:
    from ruai.text.entities import EntityExtractor

    return replace(TESLA, entities=EntityExtractor().extract(TESLA.text))


def concise(max_chars: int = 300) -> ExtractiveAnswerer:
    return ExtractiveAnswerer(Lemmatizer(), style="concise", max_chars=max_chars)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Когда умер Тесла?", "date"),
        ("В каком году Тесла переехал в Париж?", "date"),
        ("Сколько патентов получил Тесла?", "number"),
        ("В каком возрасте умер Тесла?", "number"),
        ("Кто работал у Эдисона?", "person"),
        ("С кем работал Тесла?", "person"),
        ("Где умер Тесла?", "place"),
        ("Что изобрёл Тесла?", "other"),
        ("Какой комитет одобрил проект?", "other"),
        # the question word that comes first decides, not a «когда» clause after it
        ("Сколько лет было Мэннингу, когда он играл в Суперкубке?", "number"),
        ("Кто был лидером, когда франки вошли в долину?", "person"),
        ("Был ли он когда-нибудь в Москве?", "other"),
    ],
)
def test_expected_answer_type_from_the_question_word(question: str, kind: str) -> None:
    assert expected_answer_type(question) == kind


def test_sentence_holds_the_asked_type_not_the_one_in_the_question(tesla_with_entities) -> None:
    entities = tesla_with_entities.entities
    assert {"PER", "LOC"} <= {e["type"] for e in entities}
    died = "Тесла умер в Нью-Йорке 7 января 1943 года."
    assert holds_answer_type("date", died)
    assert holds_answer_type("place", died, entities, "Где умер Тесла?")
    assert not holds_answer_type("place", died, entities, "Когда Тесла умер в Нью-Йорке?")
    assert not holds_answer_type("date", "Тесла умер в 1943 году.", question="Что было в 1943?")
    assert holds_answer_type("number", "Он получил около трёхсот патентов и 12 наград.")
    assert not holds_answer_type("other", died)


@pytest.mark.parametrize(
    ("kind", "sentence", "held"),
    [
        ("number", "В 2010 году в городе жило 1 200 000 человек.", True),
        ("number", "В 2010 году в городе жили люди.", False),  # the question's own number
        ("number", "Там жили три тысячи человек, двенадцать семей.", True),
        ("number", "Однако столица страны стоит на реке.", False),  # однако, столица: no number
        ("number", "Семья переехала, обеспечение выросло.", False),
        ("date", "Рюрик пришёл в Новгород в 862 году.", True),
        ("date", "Крещение Руси произошло в 988 г.", True),
        ("date", "Собор строили в XIX в. и в XVII—XVIII вв.", True),
        ("date", "Собор стоит на 862 сваях.", False),
    ],
)
def test_numbers_and_dates_are_whole_words(kind: str, sentence: str, held: bool) -> None:
    question = "Сколько человек жило в городе в 2010 году?"
    assert holds_answer_type(kind, sentence, question=question) is held


def test_concise_answer_leads_with_the_answering_sentence(tesla_with_entities) -> None:
    text = concise().answer("Когда умер Тесла?", [tesla_with_entities])
    assert text.startswith("Тесла умер в Нью-Йорке 7 января 1943 года. [1]")
    assert first_statement(text) == "Тесла умер в Нью-Йорке 7 января 1943 года."
    # the date is what the question asks for: the sentence with a year beats the one naming
    # Tesla and his work, although both share «Тесла»
    text = concise().answer("В каком году Тесла работал в Париже?", [tesla_with_entities])
    assert first_statement(text).startswith("В 1882 году Тесла переехал в Париж")


def test_a_supporting_sentence_only_adds_what_the_answer_lacks(tesla_with_entities) -> None:
    # the answering sentence holds every question word: nothing to support («Никола Тесла —
    # изобретатель…» shares «Тесла» and would be noise)
    assert concise().answer("Когда умер Тесла?", [tesla_with_entities]) == (
        "Тесла умер в Нью-Йорке 7 января 1943 года. [1]"
    )
    question = "Когда умер Тесла и чьим именем названа единица индукции?"
    text = concise().answer(question, [tesla_with_entities])
    sentences = re.split(r" \[\d\] ?", text.strip())
    assert len([s for s in sentences if s]) == 2
    lemmas = Lemmatizer().lemmas
    first, support = (set(lemmas(s)) for s in sentences[:2])
    assert set(lemmas(question)) - first & support


def test_concise_answer_has_at_most_two_cited_sentences_within_the_limit() -> None:
    for question in ("Когда умер Тесла?", "Где работал Тесла?", "Кто такой Никола Тесла?"):
        text = concise(max_chars=120).answer(question, [TESLA, *PASSAGES])
        cited = re.findall(r"\[(\d)\]", text)
        assert 1 <= len(cited) <= 2
        if len(cited) == 2:
            assert len(strip_citations(text)) <= 120 + 1
    assert concise().answer("Кто написал Войну и мир?", PASSAGES) == NO_ANSWER


def test_settings_choose_the_style_and_keep_the_old_one_reachable() -> None:
    old = ExtractiveAnswerer.from_settings(Settings(answer_style="sentences", answer_sentences=2))
    assert old.answer("В каком году умер Никола Тесла?", PASSAGES) == (
        answerer(2).answer("В каком году умер Никола Тесла?", PASSAGES)
    )
    concise_ = ExtractiveAnswerer.from_settings(Settings(answer_style="concise"))
    assert concise_.style == "concise" and concise_.max_chars == Settings().answer_max_chars
    new = ExtractiveAnswerer.from_settings(Settings())
    assert new.style == "ranked" and new.max_chars == Settings().answer_ranked_max_chars
