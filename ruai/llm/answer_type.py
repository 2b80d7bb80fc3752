"""What kind of answer a Russian question expects, from its question word, and whether a
sentence holds one: когда -> a date, сколько -> a number, кто -> a person, где -> a place.

Dates and numbers are found by patterns; persons and places by the natasha entities that
ingestion stored with each chunk (``Passage.entities``), matched in the sentence by their text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

AnswerType = Literal["date", "number", "person", "place", "other"]

_W = r"(?<![0-9a-zа-яё])"  # a word starts here (\b does not know Cyrillic after a digit)
_QUESTION_PATTERNS: list[tuple[AnswerType, re.Pattern[str]]] = [
    (
        "date",
        re.compile(
            rf"{_W}(когда(?![а-яё-])|в каком (году|веке|месяце|десятилетии)"
            rf"|в какой (год|день|период)|какого (числа|года)|в какие годы|с какого года"
            rf"|до какого года|какой год"
            rf"|какая дата|в какое время)"
        ),
    ),
    (
        "number",
        re.compile(
            rf"{_W}(сколько|насколько|в каком возрасте|сколькими|скольких|какой процент|какая доля"
            rf"|какое (количество|число)|какова (численность|площадь|высота|длина|стоимость"
            rf"|сумма|температура|скорость|доля|плотность|мощность)|каков (размер|процент|объ[её]м"
            rf"|бюджет|рост|возраст|тираж)|какого размера)"
        ),
    ),
    ("person", re.compile(rf"{_W}(кто|кого|кому|кем|ком|чей|чья|чь[её]|чьи|чьим|чьей|чьего)"
                          r"(?![а-яё])")),
    ("place", re.compile(rf"{_W}(где|куда|откуда|в каком (городе|месте|штате|регионе|районе)"
                         rf"|в какой (стране|части|области)|на каком (континенте|острове))")),
]  # fmt: skip

_MONTHS = "январ|феврал|март|апрел|ма[йяе]|июн|июл|август|сентябр|октябр|ноябр|декабр"
_DATE = re.compile(
    rf"{_W}(1\d{{3}}|20\d{{2}})(?!\d)|{_W}\d{{3,4}}\s*(г\.|год)|{_W}\d{{1,2}}\s+({_MONTHS})"
    rf"|{_W}([ivxlc]+|\d{{1,2}})\s*(-?[а-я]{{0,3}}\s+)?(век|веке|веков|веках|столети)"
    rf"|{_W}[ivxlc]+\s*(-?[а-я]{{0,3}}\s+)?вв?\.|{_W}\d{{2,4}}-?[хе]?\s*(годы|годах|годов)"
    rf"|{_W}({_MONTHS})[а-я]*\s+\d{{4}}"
)
# number words in their case forms, each a whole word ("однако", "столица", "семья" are not)
_NUMBER_WORDS = (
    "один|одна|одно|одну|одного|одной|одному|одним|одних|два|две|двух|двум|двумя|три|трех|трем"
    "|тремя|четыре|четырех|четырем|четырьмя|(пят|шест|сем|восем|девят|десят)(ь|и|ью)"
    "|[а-я]+надцат(ь|и|ью)|(двадцат|тридцат)(ь|и|ью)|сорок|сорока|пятьдесят|шестьдесят"
    "|семьдесят|восемьдесят|девяносто|сто|ста|сотн[а-я]*|двести|двухсот|триста|трехсот"
    "|четыреста|(пят|шест|сем|восем|девят)ьсот|тысяч[а-я]*|миллион[а-я]*|миллиард[а-я]*"
    "|половин[а-я]*|треть|трети|третью|четверт[ьи]|дюжин[а-я]*|несколько|нескольк(их|им|ими)"
    "|оба|обе|обоих|обеих|обоим|двое|трое|четверо|пятеро|двоих|троих|процент[а-я]*"
)
_NUMBER = re.compile(rf"(?<![0-9])\d+(?:[ ,.]\d+)*(?![0-9])|{_W}({_NUMBER_WORDS})(?![а-яё])")
_ENTITY_TYPES: dict[AnswerType, tuple[str, ...]] = {"person": ("PER", "ORG"), "place": ("LOC",)}


def expected_answer_type(question: str) -> AnswerType:
    """The question word that comes first decides («Сколько лет ему было, когда…» asks for a
    number); "other" when none matches."""
    text = question.lower().replace("ё", "е")
    found = [(m.start(), i) for i, (_, p) in enumerate(_QUESTION_PATTERNS) if (m := p.search(text))]
    return _QUESTION_PATTERNS[min(found)[1]][0] if found else "other"


def holds_answer_type(
    kind: AnswerType,
    sentence: str,
    entities: Iterable[dict[str, str]] = (),
    question: str = "",
) -> bool:
    """Does the sentence hold something of ``kind`` that the question does not already name?"""
    if kind == "other":
        return False
    lowered = sentence.lower().replace("ё", "е")
    asked = question.lower().replace("ё", "е")
    if kind == "date":
        return any(m.group(0) not in asked for m in _DATE.finditer(lowered))
    if kind == "number":
        named = {m.group(0) for m in _NUMBER.finditer(asked)}
        return any(m.group(0) not in named for m in _NUMBER.finditer(lowered))
    wanted = _ENTITY_TYPES[kind]
    for entity in entities:
        text = entity.get("text", "")
        if entity.get("type") in wanted and text and text in sentence and text.lower() not in asked:
            return True
    return False
