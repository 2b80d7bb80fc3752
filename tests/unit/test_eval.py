"""ruai.eval: the SQuAD reader and split, retrieval metrics, and chunk -> paragraph mapping."""

from __future__ import annotations

import json
import os
import random
import re
import unicodedata
from pathlib import Path

import pytest
from razdel import sentenize

from ruai.eval import (
    ParagraphIndex,
    SquadDataset,
    SquadFormatError,
    article_folds,
    gold_paragraph_id,
    mrr_at_k,
    read_squad,
    recall_at_k,
    retrieval_report,
    split_by_article,
)

XQUAD_RU = Path(os.environ.get("RUAI_XQUAD_RU", "/work/shared/data/xquad-ru/xquad.ru.dev.json"))


@pytest.fixture(scope="module")
def xquad() -> SquadDataset:
    if not XQUAD_RU.is_file():
        pytest.skip(f"XQuAD-ru not found at {XQUAD_RU} (set RUAI_XQUAD_RU)")
    return read_squad(XQUAD_RU)


# --- reader ----------------------------------------------------------------------------------


def test_read_real_xquad_ru_counts(xquad: SquadDataset) -> None:
    assert len(xquad.article_titles) == 48
    assert len(xquad.paragraphs) == 240
    assert len(xquad.questions) == 632
    assert xquad.article_titles[0] == "Super_Bowl_50"
    assert {q.article_index for q in xquad.questions} == set(range(24))
    assert len({q.id for q in xquad.questions}) == 632


def test_answers_are_spans_of_their_paragraph(xquad: SquadDataset) -> None:
    context = {p.paragraph_id: p.context for p in xquad.paragraphs}
    for q in xquad.questions:
        assert q.answers and len(q.answers) == len(q.answer_starts)
        for text, start in zip(q.answers, q.answer_starts, strict=True):
            assert context[q.paragraph_id][start : start + len(text)] == text


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="SQuAD file not found"):
        read_squad(tmp_path / "absent.json")


@pytest.mark.parametrize(
    "content",
    [
        '{"version": "1.1", "items": []}',
        '{"data": [{"title": "t", "paragraphs": [{"qas": []}]}]}',
        "not json at all\n",
        '{"question": "q"}\n',
    ],
)
def test_wrong_format_is_a_format_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SquadFormatError, match=re.escape(str(path))):
        read_squad(path)


def test_read_jsonl_groups_by_title_and_context(tmp_path: Path) -> None:
    rows = [
        {"id": "a", "title": "T1", "question": "Кто?", "context": "Абзац один.",
         "answers": {"text": ["один"], "answer_start": [6]}},
        {"id": "b", "title": "T1", "question": "Что?", "context": "Абзац два.",
         "answers": ["два"]},
        {"id": "c", "title": "T1", "question": "Где?", "context": "Абзац один."},
        {"id": "d", "question": "Когда?", "context": "Без заголовка.",
         "answers": [{"text": "Без", "answer_start": 0}]},
    ]  # fmt: skip
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")
    ds = read_squad(path)
    assert ds.article_titles == {0: "T1", 1: ""}
    assert [p.paragraph_id for p in ds.paragraphs] == ["0:0", "0:1", "1:0"]
    assert [q.paragraph_id for q in ds.questions] == ["0:0", "0:1", "0:0", "1:0"]
    assert ds.questions[0].answers == ["один"] and ds.questions[0].answer_starts == [6]
    assert ds.questions[1].answer_starts == [-1]
    assert ds.questions[2].answers == []
    assert ds.questions[3].answer_starts == [0]


# --- split -----------------------------------------------------------------------------------


def test_split_by_article_is_disjoint_and_complete(xquad: SquadDataset) -> None:
    train, validation = split_by_article(xquad, validation_fraction=0.25, seed=7)
    train_articles = {q.article_index for q in train.questions}
    validation_articles = {q.article_index for q in validation.questions}
    assert not train_articles & validation_articles
    assert train_articles | validation_articles == set(range(24))
    assert len(validation_articles) == 6
    assert len(train.questions) + len(validation.questions) == 632
    for part in (train, validation):
        assert set(part.article_titles) == {p.article_index for p in part.paragraphs}
        assert {q.article_index for q in part.questions} == set(part.article_titles)


def test_split_is_deterministic_and_seed_dependent(xquad: SquadDataset) -> None:
    def validation_articles(seed: int) -> set[int]:
        return set(split_by_article(xquad, 0.2, seed)[1].article_titles)

    assert validation_articles(1) == validation_articles(1)
    assert len({frozenset(validation_articles(s)) for s in range(5)}) > 1


def test_split_rejects_bad_fraction(xquad: SquadDataset) -> None:
    with pytest.raises(ValueError, match="validation_fraction"):
        split_by_article(xquad, 1.0, seed=0)


def test_article_folds_partition_the_question_bearing_articles(xquad: SquadDataset) -> None:
    folds = article_folds(xquad, 5, seed=0)
    assert len(folds) == 5 and all(4 <= len(f) <= 5 for f in folds)
    assert set().union(*folds) == set(range(24)) and sum(map(len, folds)) == 24
    assert folds == article_folds(xquad, 5, seed=0) != article_folds(xquad, 5, seed=1)
    with pytest.raises(ValueError, match="k="):
        article_folds(xquad, 25)


# --- metrics ---------------------------------------------------------------------------------

RANKED = [
    ["a", "b", "c"],  # gold at rank 1
    ["x", "y", "g2"],  # gold at rank 3
    ["p", "p", "p", "g3"],  # duplicates collapse: gold is the 2nd distinct id
    ["q", "r"],  # gold absent
    [],  # nothing retrieved
]
GOLD = ["a", "g2", "g3", "zz", "g5"]


def test_recall_at_k_by_hand() -> None:
    assert recall_at_k(RANKED, GOLD, 1) == pytest.approx(1 / 5)
    assert recall_at_k(RANKED, GOLD, 2) == pytest.approx(2 / 5)
    assert recall_at_k(RANKED, GOLD, 3) == pytest.approx(3 / 5)
    assert recall_at_k(RANKED, GOLD, 100) == pytest.approx(3 / 5)


def test_mrr_at_k_by_hand() -> None:
    assert mrr_at_k(RANKED, GOLD, 1) == pytest.approx(1 / 5)
    assert mrr_at_k(RANKED, GOLD, 2) == pytest.approx((1 + 1 / 2) / 5)
    assert mrr_at_k(RANKED, GOLD, 10) == pytest.approx((1 + 1 / 3 + 1 / 2) / 5)


def test_mrr_is_exact() -> None:
    ranked = [["x", "g"], ["x", "x2", "g"], ["g"]] * 7
    assert mrr_at_k(ranked, ["g"] * 21, 3) == 11 / 18  # correctly rounded, no float drift


def test_retrieval_report_keys_and_values() -> None:
    report = retrieval_report(RANKED, GOLD)
    assert report == {
        "recall@1": pytest.approx(0.2),
        "recall@5": pytest.approx(0.6),
        "recall@10": pytest.approx(0.6),
        "mrr@10": pytest.approx((1 + 1 / 3 + 1 / 2) / 5),
        "questions": 5,
    }


@pytest.mark.parametrize(
    ("ranked", "gold", "k", "message"),
    [([["a"]], ["a", "b"], 1, "one list per question"), ([], [], 1, "no questions"),
     ([["a"]], ["a"], 0, "k must be")],
)  # fmt: skip
def test_metrics_reject_bad_input(ranked, gold, k, message) -> None:
    with pytest.raises(ValueError, match=message):
        recall_at_k(ranked, gold, k)


# --- paragraph index -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def index(xquad: SquadDataset) -> ParagraphIndex:
    return ParagraphIndex(xquad.paragraphs)


def test_every_paragraph_maps_to_itself(xquad: SquadDataset, index: ParagraphIndex) -> None:
    assert len(index) == 240
    for p in xquad.paragraphs:
        assert index.paragraph_of(p.context) == p.paragraph_id
        stripped = p.context.replace("\ufeff", "").strip()
        assert index.paragraph_of(stripped) == p.paragraph_id


def test_sentence_aligned_substrings_map_back(xquad: SquadDataset, index: ParagraphIndex) -> None:
    rng = random.Random(2020)
    checked = 0
    for p in xquad.paragraphs:
        sentences = [s.text for s in sentenize(p.context.replace("\ufeff", ""))]
        for _ in range(5):
            start = rng.randrange(len(sentences))
            stop = rng.randrange(start + 1, len(sentences) + 1)
            if stop - start == 1 and len(sentences[start]) < 40:
                continue  # a lone short sentence may legitimately occur in two paragraphs
            chunk = " ".join(sentences[start:stop])
            assert index.paragraph_of(chunk) == p.paragraph_id, chunk
            checked += 1
    assert checked > 1000


def test_every_single_sentence_maps_to_its_paragraph(
    xquad: SquadDataset, index: ParagraphIndex
) -> None:
    for p in xquad.paragraphs:
        for s in sentenize(p.context):
            assert p.paragraph_id in index.paragraph_ids_of(s.text)


def test_matching_ignores_whitespace_bom_and_soft_hyphens(
    xquad: SquadDataset, index: ParagraphIndex
) -> None:
    p = xquad.paragraphs[17]
    words = p.context.split()[5:40]
    mangled = "\ufeff" + "\n  ".join(w[:2] + "\u00ad" + w[2:] if len(w) > 4 else w for w in words)
    assert index.paragraph_of(mangled) == p.paragraph_id
    decomposed = unicodedata.normalize("NFD", " ".join(words)).replace(" ", "\u00a0")
    assert decomposed != " ".join(words)
    assert index.paragraph_of(decomposed) == p.paragraph_id
    assert index.paragraph_of("Этого текста нет ни в одном абзаце XQuAD.") is None
    assert index.paragraph_of(" \n\ufeff") is None


def test_ambiguous_chunk_is_none(xquad: SquadDataset, index: ParagraphIndex) -> None:
    assert len(index.paragraph_ids_of("в")) > 1
    assert index.paragraph_of("в") is None


def test_gold_paragraph_id_matches_index_ids(xquad: SquadDataset, index: ParagraphIndex) -> None:
    by_id = {p.paragraph_id: p for p in xquad.paragraphs}
    for q in xquad.questions:
        gold = gold_paragraph_id(q)
        assert index.paragraph_of(by_id[gold].context) == gold
        assert gold == f"{q.article_index}:{q.paragraph_index}"
