"""A 3-trial Ray Tune sweep on a few dozen pairs: ASHA stops the weak trial after its first
epoch, a crashing trial is recorded without ending the sweep, trials are logged to MLflow, and
a trial that ends hands its process on to the next."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ray import tune

from pipelines.train_embedder import check_inputs
from pipelines.tune_embedder import run_sweep
from ruai.settings import Settings
from tests.support.tiny_squad import write_tiny_squad

pytestmark = pytest.mark.integration


def test_asha_stops_a_weak_trial_and_a_crash_does_not_end_the_sweep(
    ray_cluster, xquad_path, tmp_path
):
    dataset = write_tiny_squad(
        xquad_path, tmp_path / "tiny.json", articles=3, questions_per_article=8
    )
    settings = Settings(
        dense_model="all-MiniLM-L6-v2", train_validation_fraction=0.34, train_recall_k=1
    )
    # trials run one at a time in this order: a sane rate, one that wrecks the weights (ASHA
    # must stop it at the first rung) and an invalid one that crashes the trial
    space = {"learning_rate": tune.grid_search([5e-5, 5.0, -1.0]), "epochs": 2}
    result = run_sweep(
        settings,
        check_inputs(settings, dataset, None),
        tmp_path / "sweep",
        param_space=space,
        num_samples=1,
        max_epochs=2,
        max_concurrent=1,
        hp_overrides={"batch_size": 4, "max_seq_length": 48, "warmup_ratio": 0.0},
        name="test-sweep",
    )
    by_rate = {row["learning_rate"]: row for row in result.table}
    assert set(by_rate) == {5e-5, 5.0, -1.0}
    assert by_rate[5e-5]["status"] == "completed" and by_rate[5e-5]["epochs_run"] == 2
    assert by_rate[5.0]["status"] == "stopped early" and by_rate[5.0]["epochs_run"] == 1
    assert by_rate[5.0]["recall_at_1"] < by_rate[5e-5]["recall_at_1"]
    assert by_rate[-1.0]["status"] == "error" and "learning_rate" in by_rate[-1.0]["error"]
    assert result.best_config["learning_rate"] == 5e-5
    assert result.best_checkpoint and (tmp_path / "sweep").exists()
    # one trial at a time: the second ran in the process the first one ended in
    pids = {
        json.loads(path.read_text().splitlines()[0])["pid"]
        for path in Path(result.storage, "test-sweep").glob("*/result.json")
        if path.read_text().strip()
    }
    assert len(pids) == 1

    import mlflow

    from ruai.training.tracking import Tracking

    experiment = Tracking.from_settings(settings, (tmp_path / "sweep").resolve()).activate()
    runs = mlflow.search_runs(experiment_ids=[experiment])
    assert len(runs) == 3
    assert "metrics.recall_at_1" in runs.columns
