"""The retrieval query of a multi-turn conversation."""

from __future__ import annotations

from ruai.conversations.retrieval_query import retrieval_query

TURNS = [
    ("system", "Отвечай кратко."),
    ("user", "Кто такой Никола Тесла?"),
    ("assistant", "Изобретатель [1]."),
    ("user", "Где он родился?"),
    ("assistant", "В Смилянах [2]."),
    ("user", "а когда он умер?"),
]


def test_follow_up_carries_earlier_user_turns_newest_first() -> None:
    assert retrieval_query(TURNS, turns=2, max_chars=500) == (
        "а когда он умер?\nГде он родился?\nКто такой Никола Тесла?"
    )


def test_turns_and_length_bound_the_query() -> None:
    assert retrieval_query(TURNS, turns=0, max_chars=500) == "а когда он умер?"
    assert retrieval_query(TURNS, turns=1, max_chars=500) == "а когда он умер?\nГде он родился?"
    # the next earlier turn would pass the limit: it is left out, the question never is
    assert retrieval_query(TURNS, turns=2, max_chars=40) == "а когда он умер?\nГде он родился?"
    assert retrieval_query(TURNS, turns=2, max_chars=5) == "а когда он умер?"


def test_single_question_and_no_question() -> None:
    assert retrieval_query([("user", " Кто? ")], turns=2, max_chars=500) == "Кто?"
    assert retrieval_query([("system", "x"), ("user", "  ")], turns=2, max_chars=500) == ""
