"""LLM-as-judge for answers: the prompt (``prompts/judge_ru.txt``, kept in the repo) asks an LLM
to grade an answer against the gold answers 0/1/2; the score reported is grade / 2."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

JUDGE_PROMPT_PATH = Path(__file__).resolve().parent / "prompts" / "judge_ru.txt"
_GRADE = re.compile(r"ОЦЕНКА\s*:?\s*([012])", re.IGNORECASE)

# messages -> the LLM's reply text
ChatFn = Callable[[list[dict[str, str]]], str]


@lru_cache(maxsize=1)
def judge_prompt() -> str:
    return JUDGE_PROMPT_PATH.read_text(encoding="utf-8")


def judge_messages(question: str, golds: Sequence[str], answer: str) -> list[dict[str, str]]:
    content = judge_prompt().format(
        question=question.strip(), gold=" | ".join(golds), answer=answer.strip()
    )
    return [{"role": "user", "content": content}]


def parse_grade(reply: str) -> float | None:
    """The grade in the reply as a score in [0, 1]; None when the reply holds no grade."""
    match = _GRADE.search(reply)
    return int(match.group(1)) / 2 if match else None


def judge_answer(chat: ChatFn, question: str, golds: Sequence[str], answer: str) -> float | None:
    return parse_grade(chat(judge_messages(question, golds, answer)))
