"""(question, passage) training pairs from SQuAD-format data, split by article."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ruai.eval.squad import SquadDataset, split_by_article
from ruai.training.passage_chunks import PassageChunker
from ruai.training.rows import NoValidPairsError, RowReport, read_squad_rows


@dataclass(frozen=True, slots=True)
class PairSplit:
    """Training pairs (rows for Ray Data) and the held-out articles to measure recall on."""

    train: list[dict[str, str]]
    validation: SquadDataset
    # every paragraph of the file: the corpus validation questions are retrieved from
    corpus: SquadDataset
    report: RowReport


def pair_rows(
    dataset: SquadDataset, report: RowReport, chunker: PassageChunker | None = None
) -> list[dict[str, str]]:
    """One row per usable question: ``question``, ``passage``, ``passage_id``.

    The passage is the paragraph, or with a ``chunker`` the chunk of it that holds the answer.
    Questions with an empty text or an empty paragraph are counted in ``report`` and skipped.
    """
    contexts = {p.paragraph_id: p.context for p in dataset.paragraphs}
    rows = []
    for question in dataset.questions:
        text = question.question.strip()
        context = contexts.get(question.paragraph_id, "")
        if chunker is None:
            passage = context.replace("\ufeff", "").strip()
        else:
            start = question.answer_starts[0] if question.answer_starts else None
            passage = chunker.answer_chunk(context, start)
        if not text:
            report.skip("empty question")
        elif not passage:
            report.skip("empty passage")
        else:
            report.kept += 1
            rows.append({"question": text, "passage": passage, "passage_id": question.paragraph_id})
    return rows


def load_pair_split(
    path: str | Path, validation_fraction: float, seed: int, chunker: PassageChunker | None = None
) -> PairSplit:
    """Read, validate and split by article; fails before any training when nothing is usable.
    With a ``chunker``, training passages are the answer's chunk (see ``pair_rows``)."""
    report = RowReport(str(path))
    dataset = read_squad_rows(path, report)
    usable = {row["passage_id"] for row in pair_rows(dataset, report)}
    if not usable:
        raise NoValidPairsError(f"no valid (question, passage) pair: {report.summary()}")
    articles = {int(pid.split(":")[0]) for pid in usable}
    if len(articles) < 2:
        raise NoValidPairsError(
            f"need questions from at least 2 articles to hold one out for validation "
            f"(split by article, never by question); found {len(articles)}: {report.summary()}"
        )
    train, validation = split_by_article(dataset, validation_fraction, seed)
    train_rows = pair_rows(train, RowReport(str(path)), chunker)
    return PairSplit(train_rows, validation, dataset, report)
