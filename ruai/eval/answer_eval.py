"""Answer evaluation of a question-answering system on a SQuAD-format dataset.

The system is a function from a question to its answer and the passages the answer may cite
(number -> text): the in-process graph (``InProcessRag``: retriever + extractive answerer, no
Serve) or the served app through the ``openai`` client (``ServedRag``). Both return what a user
sees, so the same metrics score both (``ruai.eval.answer_metrics``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ruai.eval.answer_metrics import answer_report, score_answer
from ruai.eval.judge import ChatFn, judge_answer
from ruai.eval.squad import Question
from ruai.llm.extractive import ExtractiveAnswerer
from ruai.llm.passages import passages_from_hits
from ruai.retrieval import Searcher


@dataclass(slots=True)
class Answered:
    text: str
    passages: dict[int, str]


AskFn = Callable[[str], Answered]


class InProcessRag:
    """Searcher + extractive answerer in this process: what the served extractive graph does."""

    def __init__(
        self,
        retriever: Searcher,
        answerer: ExtractiveAnswerer,
        collection: str | None = None,
        tenant: str | None = None,
        top_k: int | None = None,
    ) -> None:
        self.retriever = retriever
        self.answerer = answerer
        self.collection, self.tenant, self.top_k = collection, tenant, top_k

    def __call__(self, question: str) -> Answered:
        hits = self.retriever.search(
            question, collection=self.collection, tenant=self.tenant, top_k=self.top_k
        )
        passages = passages_from_hits(hits)
        return Answered(self.answerer.answer(question, passages), {p.n: p.text for p in passages})


class ServedRag:
    """The served app's ``/v1/chat/completions`` through an ``openai.OpenAI`` client.

    Citation precision uses the ``sources`` the response lists, whose snippets are the first
    240 characters of each cited chunk: a gold answer further into the chunk is not seen.
    """

    def __init__(self, client: Any, model: str) -> None:
        self.client, self.model = client, model

    def __call__(self, question: str) -> Answered:
        response = self.client.chat.completions.create(
            model=self.model, messages=[{"role": "user", "content": question}]
        )
        sources = (response.model_extra or {}).get("sources") or []
        return Answered(
            response.choices[0].message.content or "",
            {int(s["n"]): str(s.get("snippet", "")) for s in sources},
        )


def openai_chat(client: Any, model: str) -> ChatFn:
    """A judge's chat function on an OpenAI-compatible endpoint (greedy decoding)."""

    def chat(messages: list[dict[str, str]]) -> str:
        response = client.chat.completions.create(
            model=model, messages=messages, temperature=0.0, max_tokens=16
        )
        return response.choices[0].message.content or ""

    return chat


def evaluate_answers(
    questions: Sequence[Question],
    ask: AskFn,
    judge: ChatFn | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """``{"summary": metrics, "answers": one row per question}``; with ``judge``, the summary
    adds ``judge`` (mean grade over the replies that held one) and ``judged``."""
    if not questions:
        raise ValueError("the dataset has no questions to evaluate")
    rows, scores, grades = [], [], []
    for question in questions:
        answered = ask(question.question)
        score = score_answer(answered.text, question.answers, answered.passages)
        row = {"id": question.id, "question": question.question, "gold": question.answers}
        row |= {"answer": answered.text} | asdict(score)
        if judge is not None:
            row["judge"] = judge_answer(judge, question.question, question.answers, answered.text)
            if row["judge"] is not None:
                grades.append(row["judge"])
        rows.append(row)
        scores.append(score)
        if progress is not None:
            progress(1)
    summary: dict[str, Any] = answer_report(scores)
    if judge is not None:
        summary["judge"] = sum(grades) / len(grades) if grades else None
        summary["judged"] = len(grades)
    return {"summary": summary, "answers": rows}
