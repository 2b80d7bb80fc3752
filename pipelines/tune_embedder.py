"""Sweep embedder fine-tuning hyper-parameters with Ray Tune: each trial runs the same
EmbedderSession as Ray Train and reports validation recall every epoch, so the ASHA scheduler
stops weak trials early; Optuna optionally proposes the trials; every trial is logged to MLflow
(MLflowLoggerCallback); a trial that crashes is recorded and the sweep goes on."""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from ray import tune
from ray.air.integrations.mlflow import MLflowLoggerCallback
from ray.tune.schedulers import ASHAScheduler

from pipelines.train_embedder import EmbedderInputs
from ruai.settings import Settings
from ruai.training.batches import shuffled_batches
from ruai.training.embedder_loop import run_epochs
from ruai.training.embedder_session import EmbedderSession
from ruai.training.hparams import EmbedderHParams
from ruai.training.recall import PassageRecall
from ruai.training.tracking import Tracking

SWEPT = ("learning_rate", "batch_size", "warmup_ratio", "epochs")


def default_search_space(max_epochs: int = 3) -> dict:
    return {
        "learning_rate": tune.loguniform(1e-5, 2e-4),
        "batch_size": tune.choice([16, 32]),
        "warmup_ratio": tune.uniform(0.0, 0.2),
        "epochs": tune.randint(1, max_epochs + 1),
    }


@dataclass
class SweepResult:
    table: list[dict]
    metric: str
    best_config: dict | None
    best_checkpoint: str | None
    storage: str
    seconds: float
    # trial -> [(epoch, metric)], what ASHA saw
    curves: dict[str, list[tuple[int, float]]]

    def dataframe(self):
        import pandas as pd

        return pd.DataFrame(self.table)

    def plot(self, path: Path | None = None):
        """Validation metric per epoch, one line per trial (ASHA's view); saved if ``path``."""
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(7, 4))
        for trial, curve in self.curves.items():
            if curve:
                epochs, values = zip(*curve, strict=True)
                axes.plot(epochs, values, marker="o", label=trial)
        axes.set_xlabel("epoch")
        axes.set_ylabel(f"validation {self.metric}")
        axes.set_title("embedder sweep (ASHA stops weak trials early)")
        axes.legend(fontsize="small")
        figure.tight_layout()
        if path is not None:
            figure.savefig(path, dpi=120)
        return figure


def embedder_trial(config: dict, inputs: EmbedderInputs, base_hp: dict, recall_k: int) -> None:
    """One Tune trial: the swept values over the defaults, trained in this process."""
    hp = EmbedderHParams.from_dict(base_hp | {k: config[k] for k in SWEPT if k in config})
    rows = inputs.split.train
    checkpoint = tune.get_checkpoint()
    with checkpoint.as_directory() if checkpoint else nullcontext(None) as restore:
        session = EmbedderSession.start_or_resume(
            inputs.base_model,
            Path(restore) if restore else None,
            hp,
            hp.steps_per_epoch(len(rows)),
        )
    recall = PassageRecall(inputs.split.validation, inputs.split.corpus, recall_k, inputs.chunker())

    def report(metrics: dict, checkpoint_dir: Path | None) -> None:
        saved = tune.Checkpoint.from_directory(checkpoint_dir) if checkpoint_dir else None
        tune.report(metrics, checkpoint=saved)

    run_epochs(
        session,
        lambda epoch: shuffled_batches(rows, hp.batch_size, hp.seed + epoch),
        report,
        recall,
    )


def run_sweep(
    settings: Settings,
    inputs: EmbedderInputs,
    output: Path,
    *,
    param_space: dict | None = None,
    num_samples: int = 4,
    max_epochs: int = 3,
    max_concurrent: int = 1,
    use_optuna: bool = False,
    use_gpu: bool = False,
    hp_overrides: dict | None = None,
    name: str | None = None,
) -> SweepResult:
    """Run the sweep; ``param_space`` defaults to :func:`default_search_space`. The metric is
    validation ``recall_at_<RUAI_TRAIN_RECALL_K>``, maximised."""
    started = time.perf_counter()
    metric = f"recall_at_{settings.train_recall_k}"
    base_hp = EmbedderHParams.from_settings(settings, **(hp_overrides or {})).to_dict()
    space = param_space or default_search_space(max_epochs)
    output = output.expanduser().resolve()
    name = name or f"tune-embedder-{time.strftime('%Y%m%d-%H%M%S')}"
    storage = settings.train_storage_path or str(output / "ray")
    tracking = Tracking.from_settings(settings, output)
    tracking.activate()
    search_alg = None
    if use_optuna:
        from ray.tune.search.optuna import OptunaSearch

        search_alg = OptunaSearch(seed=settings.train_seed)
    trainable = tune.with_resources(
        tune.with_parameters(
            embedder_trial, inputs=inputs, base_hp=base_hp, recall_k=settings.train_recall_k
        ),
        {"cpu": settings.train_cpus_per_worker, "gpu": 1 if use_gpu else 0},
    )
    tuner = tune.Tuner(
        trainable,
        param_space=space,
        tune_config=tune.TuneConfig(
            metric=metric,
            mode="max",
            scheduler=ASHAScheduler(
                time_attr="training_iteration", max_t=max_epochs, grace_period=1, reduction_factor=2
            ),
            search_alg=search_alg,
            num_samples=num_samples,
            max_concurrent_trials=max_concurrent,
            # a trial that ends hands its process to the next one: the imports (torch,
            # sentence-transformers: ~10 CPU-s) are paid once per concurrent trial
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(
            name=name,
            storage_path=storage,
            failure_config=tune.FailureConfig(max_failures=0, fail_fast=False),
            checkpoint_config=tune.CheckpointConfig(
                num_to_keep=1, checkpoint_score_attribute=metric, checkpoint_score_order="max"
            ),
            callbacks=[
                MLflowLoggerCallback(
                    tracking_uri=tracking.uri,
                    experiment_name=tracking.experiment,
                    tags={"job": name},
                )
            ],
        ),
    )
    grid = tuner.fit()
    table = [_trial_row(result, metric, base_hp["epochs"]) for result in grid]
    best_config = best_checkpoint = None
    finished = [r for r in grid if r.error is None and r.metrics and metric in r.metrics]
    if finished:
        best = grid.get_best_result(metric=metric, mode="max", scope="all")
        best_config = {k: best.config[k] for k in SWEPT if k in best.config}
        found = best.get_best_checkpoint(metric, "max")
        best_checkpoint = found.path if found else None
    curves = {row["trial"]: _curve(result, metric) for row, result in zip(table, grid, strict=True)}
    return SweepResult(
        table, metric, best_config, best_checkpoint, storage, time.perf_counter() - started, curves
    )


def _curve(result, metric: str) -> list[tuple[int, float]]:
    frame = result.metrics_dataframe
    if frame is None or metric not in frame:
        return []
    rows = frame[["training_iteration", metric]].dropna()
    return [(int(i), float(v)) for i, v in rows.itertuples(index=False)]


def _trial_row(result, metric: str, default_epochs: int) -> dict:
    config = result.config or {}
    metrics = result.metrics or {}
    epochs = int(config.get("epochs", default_epochs))
    iterations = int(metrics.get("training_iteration", 0))
    if result.error is not None:
        status = "error"
    elif iterations < epochs:
        status = "stopped early"
    else:
        status = "completed"
    return {
        "trial": metrics.get("trial_id", Path(result.path).name if result.path else "?"),
        **{k: config.get(k) for k in SWEPT if k in config},
        "epochs_run": iterations,
        metric: metrics.get(metric),
        f"baseline_{metric}": metrics.get(f"baseline_{metric}"),
        "loss": metrics.get("loss"),
        "status": status,
        "error": _error_line(result.error) if result.error else None,
    }


def _error_line(error: BaseException) -> str:
    """The exception's own message: Ray's wrapper puts the actor's repr on the first line."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return (lines[-1] if lines else type(error).__name__)[:200]
