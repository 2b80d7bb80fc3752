"""The retraining trigger's pairs step on a real SQLite registry, a real Qdrant Edge index and
real files: nightly runs whose champion was registered with the previous run's pairs file (what
`jobs.monitor --act --execute` leaves behind when the gate promotes)."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from pipelines.retrain import FAILED, OK, STOPPED, gate, run_chain
from pipelines.retrain_pairs import UNREGISTERED_PAIRS_KEPT_S
from ruai.encoders.base import SparseVector
from ruai.lifecycle.lineage import (
    DATASET,
    DATASET_SHA256,
    EMBEDDER,
    KIND,
    check_dataset,
    file_sha256,
)
from ruai.lifecycle.monitoring import GroupDrift, MonitorReport
from ruai.lifecycle.registry import CHAMPION, Registry
from ruai.settings import Settings
from ruai.store.base import PointRecord
from ruai.store.edge import EdgeStore

MODEL = "ruai-embedder"
DRIFTED = MonitorReport(
    "24h", "7d", 1, [GroupDrift("t", "c", 40, 40, True, embedding_drift=True, mmd_p_value=0.001)]
)
QUESTIONS = ["Кто такие норманны?", "Когда умер Тесла?", "Что такое пар?", "Где стоит Варшава?"]


def context(question: str) -> str:
    return f"Абзац номер {QUESTIONS.index(question)}: здесь изложен ответ."


def chunk_id(i: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"doc/{i}"))


@pytest.fixture
def index(tmp_path: Path):
    """The collection "c" holding the chunk each question was answered from: its text shares no
    word with the question, so a search for the question would not find it; read by id, it is."""
    store = EdgeStore(tmp_path / "qdrant")
    store.ensure_collection("c", 2)
    store.upsert("c", [
        PointRecord(chunk_id(i), [1.0, float(i)], SparseVector([i], [1.0]),
                    {"text": context(q), "title": f"статья {i}", "tenant": "t"})
        for i, q in enumerate(QUESTIONS)
    ])  # fmt: skip
    yield store
    store.close()


def window(questions: list[str]) -> tuple[list[dict], dict[str, int]]:
    """Query-log rows of answered ``questions`` and their +1 ratings."""
    rows = [
        {"question": q, "tenant": "t", "collection": "c", "chunk_ids": [chunk_id(i)],
         "response_id": f"r{i}"}
        for i, q in enumerate(questions)
    ]  # fmt: skip
    return rows, {r["response_id"]: 1 for r in rows}


def promote(registry: Registry, dataset: Path, tmp_path: Path) -> None:
    """Register a version trained on ``dataset`` and make it the champion."""
    model = tmp_path / "models" / file_sha256(dataset)[:8]
    model.mkdir(parents=True)
    tags = {KIND: EMBEDDER, DATASET: str(dataset), DATASET_SHA256: file_sha256(dataset)}
    registry.register(MODEL, model.as_uri(), tags, alias=CHAMPION)


def pairs_of(dataset: Path) -> Counter:
    rows = [json.loads(line) for line in dataset.read_text("utf-8").splitlines()]
    return Counter((r["question"], r["context"]) for r in rows)


def test_nightly_runs_keep_every_registered_dataset_and_add_each_pair_once(
    tmp_path: Path, index: EdgeStore
):
    settings = Settings(registry_dir=tmp_path / "registry", retrain_model=MODEL)
    registry = Registry.from_settings(settings)
    work = tmp_path / "monitor" / "retrain"
    work.mkdir(parents=True)
    # the champion an earlier release's run registered with the fixed <output>/retrain/pairs.jsonl
    first = work / "pairs.jsonl"
    row = {"question": QUESTIONS[0], "context": context(QUESTIONS[0]), "title": "статья c0"}
    first.write_text(json.dumps(row, ensure_ascii=False) + "\n", "utf-8")
    promote(registry, first, tmp_path)

    datasets = [first]
    for night in range(1, 4):  # each night's window overlaps the previous ones
        rows, ratings = window(QUESTIONS[: night + 1])
        chain = run_chain(settings, DRIFTED, rows, ratings, work, store=index)
        for version in range(1, night + 1):  # every registered dataset is as it was trained on
            assert check_dataset(registry.get(f"models:/{MODEL}/{version}").tags).is_file()
        pairs = chain.steps[1]
        assert (pairs.name, pairs.status) == ("pairs", OK), pairs.detail
        dataset = Path(pairs.detail.rsplit(" -> ", 1)[1])
        counts = pairs_of(dataset)
        assert max(counts.values()) == 1, counts
        assert set(counts) == {(q, context(q)) for q in QUESTIONS[: night + 1]}
        assert pairs.detail.startswith(f"1 window pairs + {night} of the registered dataset")
        assert chain.dataset == dataset and dataset not in datasets
        datasets.append(dataset)
        promote(registry, dataset, tmp_path)  # --execute: trained on it and promoted

    rows, ratings = window(QUESTIONS)  # the last window again: nothing new
    again = run_chain(settings, DRIFTED, rows, ratings, work, store=index)
    assert (again.steps[1].status, again.dataset) == (STOPPED, None)
    assert "already in the champion's registered dataset" in again.steps[1].detail
    assert sorted(work.iterdir()) == sorted(datasets)


def test_the_same_rows_find_their_file_already_written(tmp_path: Path, index: EdgeStore):
    settings = Settings(registry_dir=tmp_path / "registry", retrain_model=MODEL)
    rows, ratings = window(QUESTIONS[:2])
    one = run_chain(settings, DRIFTED, rows, ratings, tmp_path / "retrain", store=index)
    two = run_chain(settings, DRIFTED, rows, ratings, tmp_path / "retrain", store=index)
    assert one.dataset == two.dataset and one.dataset.name.startswith("pairs-")
    assert one.steps[-1].status == STOPPED and "dry run" in one.steps[-1].detail
    assert [p.name for p in (tmp_path / "retrain").iterdir()] == [one.dataset.name]


def test_pairs_files_no_version_was_trained_on_go_once_a_day_old(tmp_path: Path, index: EdgeStore):
    """A dry run's file goes; a registered version's file stays however old, and so does a
    fresh one a fine-tune may still be reading."""
    settings = Settings(registry_dir=tmp_path / "registry", retrain_model=MODEL)
    registry = Registry.from_settings(settings)
    work = tmp_path / "retrain"

    def night(count: int):
        rows, ratings = window(QUESTIONS[:count])
        return run_chain(settings, DRIFTED, rows, ratings, work, store=index)

    dry_run = night(1).dataset
    trained = night(2).dataset
    promote(registry, trained, tmp_path)
    day_old = time.time() - UNREGISTERED_PAIRS_KEPT_S - 60
    for path in (dry_run, trained):
        os.utime(path, (day_old, day_old))

    training = night(3)
    assert "removed 1 unregistered pairs file(s)" in training.steps[1].detail
    last = night(4)
    assert "removed" not in last.steps[1].detail
    assert sorted(work.iterdir()) == sorted([trained, training.dataset, last.dataset])
    assert check_dataset(registry.get(f"models:/{MODEL}/1").tags) == trained


def test_a_chunk_gone_from_the_index_is_counted_missing(tmp_path: Path, index: EdgeStore):
    settings = Settings(registry_dir=tmp_path / "registry", retrain_model=MODEL, collection="c")
    rows, ratings = window(QUESTIONS[:3])
    rows[1]["chunk_ids"] = [str(uuid.uuid5(uuid.NAMESPACE_URL, "deleted"))]
    rows[2]["collection"] = ""  # logged before collections were: RUAI_COLLECTION's
    chain = run_chain(settings, DRIFTED, rows, ratings, tmp_path / "retrain", store=index)
    assert chain.steps[1].status == OK, chain.steps[1].detail
    assert pairs_of(chain.dataset) == {(QUESTIONS[0], context(QUESTIONS[0])): 1,
                                       (QUESTIONS[2], context(QUESTIONS[2])): 1}  # fmt: skip
    rows[0]["collection"] = rows[2]["collection"] = "dropped"
    gone = run_chain(settings, DRIFTED, rows, ratings, tmp_path / "retrain", store=index)
    assert (gone.steps[1].status, gone.dataset) == (STOPPED, None)
    assert "(3 missing)" in gone.steps[1].detail


def test_a_champion_whose_dataset_is_gone_fails_the_pairs_step_saying_so(
    tmp_path: Path, index: EdgeStore
):
    settings = Settings(registry_dir=tmp_path / "registry", retrain_model=MODEL)
    registry = Registry.from_settings(settings)
    gone = tmp_path / "gone.jsonl"
    gone.write_text("{}\n", "utf-8")
    promote(registry, gone, tmp_path)
    gone.unlink()
    rows, ratings = window(QUESTIONS[:2])
    chain = run_chain(settings, DRIFTED, rows, ratings, tmp_path / "retrain", store=index)
    assert [(s.name, s.status) for s in chain.steps] == [("trigger", OK), ("pairs", FAILED)]
    assert chain.failed and chain.steps[1].detail.startswith("FileNotFoundError: ")
    assert str(gone) in chain.steps[1].detail

    untagged = tmp_path / "models" / "untagged"
    untagged.mkdir(parents=True)
    registry.register(MODEL, untagged.as_uri(), {KIND: EMBEDDER}, alias=CHAMPION)
    chain = run_chain(settings, DRIFTED, rows, ratings, tmp_path / "retrain", store=index)
    assert chain.steps[1].status == FAILED
    assert (
        chain.steps[1].detail
        == f"models:/{MODEL}/2 (the champion) has no 'dataset' tag to add the window to"
    )


def test_the_gate_without_a_challenger_fails_naming_the_model(tmp_path: Path):
    settings = Settings(registry_dir=tmp_path / "registry", retrain_model=MODEL)
    step, promoted = gate(settings)
    assert (step.name, step.status, promoted) == ("gate", FAILED, None)
    assert step.detail.startswith("ModelNotFoundError: ") and MODEL in step.detail
    assert not step.goes_on
