"""jobs.agent's inputs and its record of finished tasks, without Ray."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.agent_tasks import (
    LETTER_TASK,
    TaskInputError,
    _write_json,
    finished,
    read_tasks,
    result_path,
)
from ruai.settings import Settings

SETTINGS = Settings(max_question_chars=400)


def test_jsonl_lines_are_tasks_with_their_ids(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text('{"id": "a", "task": "Кто такой Тесла?"}\n\n{"task": "Где Варшава?"}\n')
    assert read_tasks(tasks, SETTINGS) == [
        {"id": "a", "task": "Кто такой Тесла?"}, {"id": "line-3", "task": "Где Варшава?"}]
    tasks.write_text('{"id": "a", "task": "x"}\n{"id": "a", "task": "y"}\n')
    with pytest.raises(TaskInputError, match="ids repeat"):
        read_tasks(tasks, SETTINGS)
    tasks.write_text('{"id": "a", "task": "x"}\n{"id": "b"}\n')
    with pytest.raises(TaskInputError, match="tasks.jsonl:2"):
        read_tasks(tasks, SETTINGS)
    with pytest.raises(TaskInputError, match="no such file"):
        read_tasks(tmp_path / "missing.jsonl", SETTINGS)


def test_a_folders_documents_are_letters_cut_to_what_the_api_accepts(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "short.txt").write_text("Прошу разъяснить порядок отпуска.")
    (tmp_path / "in" / "long.md").write_text("Слово " * 500)
    tasks = read_tasks(tmp_path / "in", SETTINGS)
    assert [t["id"] for t in tasks] == ["long.md", "short.txt"]
    assert tasks[1]["task"] == LETTER_TASK.format(text="Прошу разъяснить порядок отпуска.")
    assert len(tasks[0]["task"]) <= SETTINGS.max_question_chars


def test_only_finished_results_count_as_done(tmp_path: Path) -> None:
    for task_id, status in (("a/1", "answered"), ("b", "step_budget"), ("c", "failed")):
        _write_json(result_path(tmp_path, task_id), {"id": task_id, "status": status})
    assert [finished(tmp_path, t) for t in ("a/1", "b", "c", "d")] == [True, True, False, False]
    assert result_path(tmp_path, "a/1") != result_path(tmp_path, "a_1")  # "/" is kept apart
    result_path(tmp_path, "e").write_text("{half")  # a torn file is not a finished task
    assert not finished(tmp_path, "e")
    assert not list((tmp_path / "results").glob(".*.part"))
    assert json.loads(result_path(tmp_path, "b").read_text())["status"] == "step_budget"
