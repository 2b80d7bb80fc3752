"""Training data: pairs split by article, bad rows counted and skipped, clear failures."""

from __future__ import annotations

import json

import pytest

from ruai.training.batches import shuffled_batches
from ruai.training.chat_data import read_chat_jsonl, squad_conversations
from ruai.training.hard_negatives import pick_hard_negative, with_hard_negatives
from ruai.training.pairs import load_pair_split
from ruai.training.rows import NoValidPairsError, RowReport


def jsonl(path, rows):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_dev_split_is_by_article_and_corpus_keeps_every_paragraph(xquad_path):
    split = load_pair_split(xquad_path, 0.2, seed=0)
    train_articles = {row["passage_id"].split(":")[0] for row in split.train}
    validation_articles = {str(i) for i in split.validation.article_titles}
    assert train_articles and validation_articles
    assert not train_articles & validation_articles
    assert len(split.train) + len(split.validation.questions) == 632
    assert len(split.corpus.paragraphs) == 240
    assert split.report.kept == 632 and split.report.skipped_total == 0


def test_jsonl_bad_rows_are_counted_and_skipped(tmp_path):
    good = [
        {"question": f"Вопрос {i}?", "context": f"Абзац {i // 2}.", "title": f"T{i % 3}"}
        for i in range(6)
    ]
    path = jsonl(
        tmp_path / "pairs.jsonl",
        [*good, "", "{broken", {"question": "", "context": "x"}, {"context": "без вопроса"}, [1]],
    )
    split = load_pair_split(path, 0.34, seed=1)
    report = split.report
    assert report.kept == 6 and report.rows == 11
    assert report.skipped == {"empty line": 1, "invalid JSON": 1, "no question or context": 3}
    assert "6 kept, 5 skipped" in report.summary()


def test_empty_questions_in_squad_json_are_skipped(xquad_path, tmp_path):
    data = json.loads(xquad_path.read_text(encoding="utf-8-sig"))
    data["data"][0]["paragraphs"][0]["qas"][0]["question"] = "  "
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    split = load_pair_split(path, 0.2, seed=0)
    assert split.report.skipped == {"empty question": 1} and split.report.kept == 631


@pytest.mark.parametrize(
    "rows, message",
    [
        (["", "{oops", {"question": " ", "context": "x"}], "no JSONL line is an object"),
        ([{"question": "Где?", "context": "Там.", "title": "A"}], "at least 2 articles"),
    ],
)
def test_no_usable_pair_fails_with_a_clear_message(tmp_path, rows, message):
    with pytest.raises(NoValidPairsError, match=message):
        load_pair_split(jsonl(tmp_path / "bad.jsonl", rows), 0.2, seed=0)


def test_hard_negative_is_never_a_piece_of_the_gold_passage():
    gold = "Никола Тесла родился в Смилянах. Он был изобретателем."
    candidates = [("1", "Никола Тесла родился в Смилянах."), ("2", "Эдисон изобрёл лампу.")]
    assert pick_hard_negative(gold, candidates) == ("2", "Эдисон изобрёл лампу.")
    assert pick_hard_negative(gold, candidates[:1]) is None
    rows = [{"question": "Где родился Тесла?", "passage": gold, "passage_id": "0:0"}]
    kept, missing = with_hard_negatives(rows, lambda q: candidates)
    assert missing == 0 and kept[0]["negative_id"] == "neg:2"


def test_batches_cover_every_row_once_per_epoch():
    rows = [{"question": str(i), "passage": str(i), "passage_id": str(i)} for i in range(10)]
    batches = list(shuffled_batches(rows, 4, seed=3))
    assert [len(b["question"]) for b in batches] == [4, 4, 2]
    assert sorted(q for b in batches for q in b["question"]) == sorted(r["question"] for r in rows)
    assert batches != list(shuffled_batches(rows, 4, seed=4))


def test_chat_rows_are_validated(tmp_path):
    ok = {
        "messages": [{"role": "user", "content": "Вопрос"}, {"role": "assistant", "content": "Да"}]
    }
    path = jsonl(
        tmp_path / "chat.jsonl",
        [
            ok,
            "",
            "nope",
            {"messages": [{"role": "user", "content": "только вопрос"}]},
            {"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": " "}]},
            {"messages": [{"role": "assistant", "content": "x"}, {"role": "user", "content": "y"}]},
        ],
    )
    report = RowReport(str(path))
    assert read_chat_jsonl(path, report) == [ok["messages"]]
    assert report.kept == 1 and report.skipped_total == 5
    with pytest.raises(NoValidPairsError, match="no valid conversation"):
        read_chat_jsonl(jsonl(tmp_path / "empty.jsonl", ["", "{}"]), RowReport("empty"))


def test_squad_questions_become_context_question_answer_chats(xquad_path):
    from ruai.eval.squad import read_squad

    dataset = read_squad(xquad_path)
    rows = squad_conversations(dataset, system_prompt="Ты помощник.")
    assert len(rows) == 632
    system, user, assistant = rows[0]["messages"]
    question = dataset.questions[0]
    assert system["role"] == "system" and question.question in user["content"]
    assert "Текст:" in user["content"] and assistant["content"] == question.answers[0]
