"""Embedder fine-tuning on Ray Train: 2 CPU workers on a few dozen XQuAD-ru pairs, a worker
killed after the first checkpoint, resumed from it; the result is a usable dense encoder."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest

from pipelines.train_run import SUMMARY_FILENAME
from ruai.encoders.factory import build_dense_encoder

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def trained(trained_embedder):
    """tests/integration/conftest.py's run: (settings, result, the drill's marker file)."""
    settings, _, result, marker = trained_embedder
    return settings, result, marker


def test_two_workers_report_loss_and_recall_per_epoch(trained):
    _, result, _ = trained
    assert [row["epoch"] for row in result.history] == [0, 1, 2]
    before, *epochs = result.history
    assert 0.0 <= before["recall_at_3"] <= 1.0
    for row in epochs:
        assert math.isfinite(row["loss"]) and row["steps"] >= 1
        assert 0.0 <= row["recall_at_3"] <= 1.0
        assert row["baseline_recall_at_3"] == before["recall_at_3"]
    assert result.data["train_pairs"] == 16 and result.data["validation_questions"] == 8


def test_killed_worker_resumes_from_last_checkpoint(trained):
    _, result, marker = trained
    assert marker.exists(), "the fault drill did not kill a worker"
    first, second = result.history[1:]
    assert first["resumed_from_epoch"] == 0
    assert second["resumed_from_epoch"] == 1
    assert Path(result.checkpoint_path).exists()


def test_output_is_a_dense_encoder_for_ingestion_and_serving(trained):
    settings, result, _ = trained
    encoder = build_dense_encoder(settings.model_copy(update={"dense_model": str(result.output)}))
    vectors = encoder.encode_queries(["Кто такой Никола Тесла?"])
    assert vectors.shape == (1, 384)
    assert abs(float((vectors**2).sum()) - 1.0) < 1e-4
    summary = json.loads((result.output / SUMMARY_FILENAME).read_text())
    assert summary["mlflow_run_id"] == result.mlflow_run_id


def test_run_is_tracked_in_mlflow(trained):
    import mlflow

    from ruai.training.tracking import Tracking

    settings, result, _ = trained
    Tracking.from_settings(settings, result.output.parent).activate()
    run = mlflow.get_run(result.mlflow_run_id)
    assert run.data.params["batch_size"] == "4"
    assert "recall_at_3" in run.data.metrics and "loss" in run.data.metrics
    history = mlflow.MlflowClient().get_metric_history(result.mlflow_run_id, "recall_at_3")
    assert sorted(m.step for m in history) == [0, 1, 2]
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(result.mlflow_run_id)}
    assert {SUMMARY_FILENAME, "model"} <= artifacts


def test_the_finished_run_leaves_no_actor_behind(trained, ray_cluster):
    """Ray Train's SIGINT handler holds the run's controller; `fit` puts the old one back, so the
    controller and the run's dataset actors end with the run instead of polling on in the
    driver until its next fit."""
    from ray.util.state import list_actors

    run_actors = {"TrainController", "DatasetManager", "SplitCoordinator", "RayTrainWorker"}
    deadline = time.monotonic() + 30
    while True:
        actors = list_actors(
            ray_cluster["address"],
            filters=[("state", "=", "ALIVE")],
            limit=10_000,
            raise_on_missing_output=False,
        )
        alive = sorted(a.class_name for a in actors if a.class_name in run_actors)
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert alive == []
