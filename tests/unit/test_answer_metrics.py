"""Answer metrics (SQuAD normalisation adapted to Russian) and the LLM judge's prompt/grades."""

from __future__ import annotations

import pytest

from ruai.eval.answer_eval import Answered, evaluate_answers
from ruai.eval.answer_metrics import (
    answer_report,
    cited_numbers,
    contains_answer,
    exact_match,
    first_statement,
    normalize_answer,
    score_answer,
    strip_citations,
    token_f1,
)
from ruai.eval.judge import JUDGE_PROMPT_PATH, judge_messages, parse_grade
from ruai.eval.squad import Question


def test_normalisation_folds_yo_case_punctuation_and_spaces() -> None:
    assert normalize_answer("  «Ёлка», ЗЕЛЁНАЯ!\u00a0(2000 г.) ") == "елка зеленая 2000 г"
    assert normalize_answer("\ufeffНью-Йорк") == "нью йорк"


def test_exact_match_and_f1_take_the_best_gold() -> None:
    assert exact_match("Зелёная ёлка.", ["другое", "зеленая елка"]) == 1.0
    assert exact_match("зеленая елка стоит", ["зеленая елка"]) == 0.0
    # 2 shared tokens of 3 predicted and 2 gold: P=2/3, R=1 -> F1=0.8
    assert token_f1("зеленая елка стоит", ["нет", "Зелёная ёлка"]) == pytest.approx(0.8)
    assert token_f1("ничего общего", ["зеленая елка"]) == 0.0


def test_answer_gold_matches_whole_tokens_only() -> None:
    assert contains_answer("Тесла умер 7 января 1943 года.", ["1943 года"])
    assert not contains_answer("В 19430 году", ["1943"])
    assert not contains_answer("что угодно", [""])


def test_citations_first_statement_and_length() -> None:
    answer = "Тесла умер в 1943 году. [2] Он жил в Нью-Йорке. [1][2]"
    assert cited_numbers(answer) == [2, 1]
    assert first_statement(answer) == "Тесла умер в 1943 году."
    assert first_statement("Без ссылок.") == "Без ссылок."
    assert strip_citations(answer) == "Тесла умер в 1943 году. Он жил в Нью-Йорке."


def test_score_answer_and_report() -> None:
    passages = {1: "Нью-Йорк — город.", 2: "Тесла умер в 1943 году."}
    hit = score_answer("Тесла умер в 1943 году. [2] Нью-Йорк — город. [1]", ["1943"], passages)
    assert hit.gold_in_first and hit.gold_anywhere and hit.citation_precision == 0.5
    assert hit.chars == len("Тесла умер в 1943 году. Нью-Йорк — город.")
    late = score_answer("Нью-Йорк — город. [1] Тесла умер в 1943 году. [2]", ["1943"], passages)
    assert not late.gold_in_first and late.gold_anywhere
    uncited = score_answer("1943", ["1943"])
    assert uncited.exact_match == 1.0 and uncited.citation_precision is None
    report = answer_report([hit, late, uncited])
    assert report["gold_in_first"] == pytest.approx(2 / 3)
    assert report["gold_anywhere"] == 1.0
    assert report["citation_precision"] == 0.5 and report["cited_answers"] == 2
    with pytest.raises(ValueError):
        answer_report([])


def test_judge_prompt_lives_in_the_repo_and_grades_parse() -> None:
    messages = judge_messages("Когда умер Тесла?", ["1943", "в 1943 году"], "В 1943 году. [1]")
    content = messages[0]["content"]
    assert JUDGE_PROMPT_PATH.is_file() and "ОЦЕНКА" in content
    assert "Когда умер Тесла?" in content and "1943 | в 1943 году" in content
    assert parse_grade("ОЦЕНКА: 2") == 1.0
    assert parse_grade("оценка 1 — неполный") == 0.5
    assert parse_grade("не знаю") is None


def test_evaluate_answers_scores_each_question_and_the_judge() -> None:
    questions = [
        Question("a", "Когда умер Тесла?", ["1943"], [0], 0, 0),
        Question("b", "Где жил Тесла?", ["Нью-Йорке"], [0], 0, 0),
    ]
    answers = {
        "Когда умер Тесла?": Answered("Тесла умер в 1943 году. [1]", {1: "Он умер в 1943 году."}),
        "Где жил Тесла?": Answered("Не знаю. [1]", {1: "Он умер в 1943 году."}),
    }
    grades = iter(["ОЦЕНКА: 2", "ОЦЕНКА: 0"])
    result = evaluate_answers(questions, answers.__getitem__, judge=lambda _: next(grades))
    summary = result["summary"]
    assert summary["gold_in_first"] == 0.5 and summary["citation_precision"] == 0.5
    assert summary["judge"] == 0.5 and summary["judged"] == 2
    assert [row["judge"] for row in result["answers"]] == [1.0, 0.0]
