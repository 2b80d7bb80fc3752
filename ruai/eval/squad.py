"""Read SQuAD-format question answering data (SQuAD v1.1 JSON, or JSONL) and split it by article."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class SquadFormatError(ValueError):
    """The file exists but does not hold SQuAD v1.1 JSON or question/context JSONL."""


def paragraph_id_for(article_index: int, paragraph_index: int) -> str:
    """The paragraph id used at paragraph-level evaluation: ``"<article>:<paragraph>"``."""
    return f"{article_index}:{paragraph_index}"


@dataclass(frozen=True, slots=True)
class Paragraph:
    article_index: int
    article_title: str
    paragraph_index: int
    # Exactly as in the file (a leading U+FEFF included): answer starts index into it.
    context: str

    @property
    def paragraph_id(self) -> str:
        return paragraph_id_for(self.article_index, self.paragraph_index)


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    question: str
    answers: list[str]
    answer_starts: list[int]
    article_index: int
    paragraph_index: int

    @property
    def paragraph_id(self) -> str:
        return paragraph_id_for(self.article_index, self.paragraph_index)


@dataclass(frozen=True, slots=True)
class SquadDataset:
    # article index -> title; indices are those of the source file and survive a split.
    article_titles: dict[int, str]
    paragraphs: list[Paragraph]
    questions: list[Question]

    def paragraphs_of(self, article_index: int) -> list[Paragraph]:
        return [p for p in self.paragraphs if p.article_index == article_index]

    def subset(self, article_indices: set[int]) -> SquadDataset:
        """The articles named, with their paragraphs and questions, indices unchanged."""
        return SquadDataset(
            article_titles={i: t for i, t in self.article_titles.items() if i in article_indices},
            paragraphs=[p for p in self.paragraphs if p.article_index in article_indices],
            questions=[q for q in self.questions if q.article_index in article_indices],
        )


def read_squad(path: str | Path) -> SquadDataset:
    """Read SQuAD v1.1 JSON (``{"data": [{"title", "paragraphs": [...]}]}``) or JSONL.

    JSONL: one object per line with ``question`` and ``context``, and optionally ``id``,
    ``title`` and ``answers`` (a list of strings, a list of ``{"text", "answer_start"}``, or the
    Hugging Face form ``{"text": [...], "answer_start": [...]}``). Lines sharing a title form one
    article (without a title, each distinct context is its own article); lines sharing a context
    within an article form one paragraph.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"SQuAD file not found: {path} (expected SQuAD v1.1 JSON or JSONL)")
    text = path.read_text(encoding="utf-8-sig")
    try:
        root = json.loads(text)
    except json.JSONDecodeError:
        return squad_from_jsonl(path, text)
    if isinstance(root, dict) and "data" in root:
        return _from_squad_json(path, root)
    if isinstance(root, dict) and "question" in root:  # a JSONL file with a single line
        return squad_from_jsonl(path, text)
    raise SquadFormatError(
        f"{path}: not SQuAD v1.1 JSON (no top-level 'data' list) nor question/context JSONL"
    )


def split_by_article(
    dataset: SquadDataset, validation_fraction: float, seed: int
) -> tuple[SquadDataset, SquadDataset]:
    """Split into (train, validation) by article, never by question, so no context leaks.

    Only articles that have questions are split; articles without questions (in XQuAD-ru, the
    held-out test articles) go to neither side. The split is deterministic for a given seed.
    """
    if not 0.0 < validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must be in (0, 1), got {validation_fraction}")
    with_questions = sorted({q.article_index for q in dataset.questions})
    if len(with_questions) < 2:
        raise ValueError(
            f"need at least 2 articles with questions to split, found {len(with_questions)}"
        )
    random.Random(seed).shuffle(with_questions)
    n_validation = min(
        len(with_questions) - 1, max(1, round(validation_fraction * len(with_questions)))
    )
    validation_articles = set(with_questions[:n_validation])
    train_articles = set(with_questions[n_validation:])
    assert not validation_articles & train_articles
    return dataset.subset(train_articles), dataset.subset(validation_articles)


def article_folds(dataset: SquadDataset, k: int, seed: int = 0) -> list[set[int]]:
    """``k`` disjoint sets of the article indices that have questions (shuffled with ``seed``,
    then dealt round-robin): for cross-validation by article, never by question."""
    articles = sorted({q.article_index for q in dataset.questions})
    if not 2 <= k <= len(articles):
        raise ValueError(f"need 2 <= k <= {len(articles)} articles with questions, got k={k}")
    random.Random(seed).shuffle(articles)
    return [set(articles[i::k]) for i in range(k)]


def _from_squad_json(path: Path, root: dict[str, Any]) -> SquadDataset:
    titles: dict[int, str] = {}
    paragraphs: list[Paragraph] = []
    questions: list[Question] = []
    try:
        for a_idx, article in enumerate(root["data"]):
            titles[a_idx] = str(article.get("title", ""))
            for p_idx, para in enumerate(article["paragraphs"]):
                paragraphs.append(Paragraph(a_idx, titles[a_idx], p_idx, para["context"]))
                for qa in para.get("qas", []):
                    answers = qa.get("answers", [])
                    questions.append(
                        Question(
                            id=str(qa["id"]),
                            question=qa["question"],
                            answers=[a["text"] for a in answers],
                            answer_starts=[int(a["answer_start"]) for a in answers],
                            article_index=a_idx,
                            paragraph_index=p_idx,
                        )
                    )
    except (KeyError, TypeError) as exc:
        raise SquadFormatError(
            f"{path}: malformed SQuAD v1.1 JSON ({type(exc).__name__}: {exc}); expected "
            "data[].paragraphs[].context and qas[].{id, question, answers[].text/answer_start}"
        ) from exc
    return SquadDataset(titles, paragraphs, questions)


def squad_from_jsonl(path: Path, text: str) -> SquadDataset:
    """JSONL rows (``question``, ``context``, optional ``title``/``answers``) already read as
    ``text``; ``path`` names the file in error messages."""
    titles: dict[int, str] = {}
    article_of_key: dict[str, int] = {}
    paragraph_of: dict[tuple[int, str], int] = {}
    paragraph_count: dict[int, int] = {}
    paragraphs: list[Paragraph] = []
    questions: list[Question] = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            question, context = row["question"], row["context"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise SquadFormatError(
                f"{path}:{line_no}: not SQuAD v1.1 JSON, and this line is not a JSON object "
                f"with 'question' and 'context' ({type(exc).__name__}: {exc})"
            ) from exc
        title = str(row.get("title") or "")
        article_key = f"title:{title}" if title else f"context:{context}"
        if article_key not in article_of_key:
            article_of_key[article_key] = len(titles)
            titles[len(titles)] = title
        a_idx = article_of_key[article_key]
        if (a_idx, context) not in paragraph_of:
            p_idx = paragraph_count.get(a_idx, 0)
            paragraph_count[a_idx] = p_idx + 1
            paragraph_of[(a_idx, context)] = p_idx
            paragraphs.append(Paragraph(a_idx, title, p_idx, context))
        answers, starts = _jsonl_answers(path, line_no, row.get("answers", []))
        questions.append(
            Question(
                id=str(row.get("id", line_no)),
                question=question,
                answers=answers,
                answer_starts=starts,
                article_index=a_idx,
                paragraph_index=paragraph_of[(a_idx, context)],
            )
        )
    if not questions:
        raise SquadFormatError(f"{path}: empty file")
    return SquadDataset(titles, paragraphs, questions)


def _jsonl_answers(path: Path, line_no: int, answers: Any) -> tuple[list[str], list[int]]:
    """Answers as texts and starts (-1 where the file gives no start)."""
    if isinstance(answers, dict):  # Hugging Face datasets: {"text": [...], "answer_start": [...]}
        texts = [str(t) for t in answers.get("text", [])]
        starts = [int(s) for s in answers.get("answer_start", [-1] * len(texts))]
        return texts, starts
    if isinstance(answers, list):
        texts, starts = [], []
        for answer in answers:
            if isinstance(answer, dict):
                if "text" not in answer:
                    raise SquadFormatError(f"{path}:{line_no}: an answer object has no 'text'")
                texts.append(str(answer["text"]))
                starts.append(int(answer.get("answer_start", -1)))
            else:
                texts.append(str(answer))
                starts.append(-1)
        return texts, starts
    raise SquadFormatError(f"{path}:{line_no}: 'answers' must be a list or a dict")
