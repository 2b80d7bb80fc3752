"""What every Ray Train job here does after `fit()`: copy the final model out of the last
checkpoint, write a summary, log the run to MLflow."""

from __future__ import annotations

import json
import shutil
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import ray
import ray.train
from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
from ray.train.torch import TorchTrainer

from ruai.lifecycle.lineage import Lineage
from ruai.settings import Settings
from ruai.training.embedder_session import HISTORY_FILENAME
from ruai.training.tracking import Tracking, log_run

SUMMARY_FILENAME = "training_summary.json"


@dataclass
class TrainRunResult:
    output: Path
    history: list[dict]
    checkpoint_path: str
    data: dict
    seconds: float
    mlflow_run_id: str = ""
    params: dict = field(default_factory=dict)
    # models:/<name>/<version> when the run was registered
    registered: str = ""

    def to_dict(self) -> dict:
        return {
            "output": str(self.output),
            "checkpoint": self.checkpoint_path,
            "mlflow_run_id": self.mlflow_run_id,
            "registered": self.registered,
            "params": self.params,
            "data": self.data,
            "history": self.history,
            "seconds": round(self.seconds, 1),
        }

    def write(self) -> Path:
        path = self.output / SUMMARY_FILENAME
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2, default=str))
        return path


def run_name(prefix: str, name: str | None) -> str:
    return name or f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}"


def storage_path(settings: Settings, output: Path) -> str:
    """Where Ray Train keeps this run: RUAI_TRAIN_STORAGE_PATH, or beside the output."""
    return settings.train_storage_path or str(output.parent / f"{output.name}-runs")


def torch_trainer(
    settings: Settings,
    loop,
    config: dict,
    rows: list[dict],
    output: Path,
    name: str,
    workers: int,
    gpu: bool,
) -> TorchTrainer:
    """A TorchTrainer over ``rows`` (the "train" Ray Data dataset) that resumes a failed worker
    group from its last checkpoint."""
    return TorchTrainer(
        loop,
        train_loop_config=config,
        scaling_config=ScalingConfig(
            num_workers=workers,
            use_gpu=gpu,
            resources_per_worker={"CPU": settings.train_cpus_per_worker},
        ),
        run_config=RunConfig(
            name=name,
            storage_path=storage_path(settings, output),
            failure_config=FailureConfig(max_failures=settings.train_max_failures),
            checkpoint_config=CheckpointConfig(num_to_keep=2),
        ),
        datasets={"train": ray.data.from_items(rows)},
    )


def fit(trainer: TorchTrainer) -> ray.train.Result:
    """``trainer.fit()``, then this process's SIGINT handler as it was. Ray Train's handler holds
    the run's controller actor: left installed, it keeps the controller and the run's dataset
    actors alive (and polling) in a driver that goes on after training, until its next fit."""
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT) if main_thread else None
    try:
        return trainer.fit()
    finally:
        if previous is not None:  # None: not a handler Python installed, nothing to put back
            signal.signal(signal.SIGINT, previous)


def finish_run(
    settings: Settings,
    checkpoint: ray.train.Checkpoint,
    model_subdir: str,
    output: Path,
    name: str,
    params: dict,
    data: dict,
    started: float,
    extra_artifacts: tuple[Path, ...] = (),
    register: tuple[str, Lineage] | None = None,
) -> TrainRunResult:
    """Copy ``<checkpoint>/<model_subdir>`` to ``output`` (replacing it), then summarise and
    log to MLflow (the store under ``output``'s parent unless RUAI_MLFLOW_TRACKING_URI);
    ``register=(name, lineage)`` makes the logged model a new ``challenger`` version of
    ``name`` in the model registry."""
    with checkpoint.as_directory() as final:
        final = Path(final)
        if output.exists():
            shutil.rmtree(output)
        shutil.copytree(final / model_subdir, output)
        history = json.loads((final / HISTORY_FILENAME).read_text())
    result = TrainRunResult(
        output, history, checkpoint.path, data, time.perf_counter() - started, params=params
    )
    summary = result.write()
    tracking = Tracking.from_settings(settings, output.parent)
    result.mlflow_run_id = log_run(
        tracking,
        name,
        params,
        history,
        [summary, output, *extra_artifacts],
        tags={"job": name.split("-")[0]},
    )
    if register is not None:
        result.registered = register_run(settings, tracking, result, *register)
    result.write()
    return result


def register_run(
    settings: Settings, tracking: Tracking, result: TrainRunResult, model: str, lineage: Lineage
) -> str:
    """Register the model the run logged (its ``<output name>`` artifact folder) with the run's
    final metrics in its lineage; returns ``models:/<model>/<version>``."""
    from dataclasses import replace

    from mlflow import MlflowClient

    from ruai.lifecycle.registry import Registry

    run = MlflowClient(tracking_uri=tracking.uri).get_run(result.mlflow_run_id)
    source = f"{run.info.artifact_uri.rstrip('/')}/{result.output.name}"
    last = result.history[-1] if result.history else {}
    lineage = replace(lineage, metrics=last, run_id=result.mlflow_run_id)
    version = Registry.from_settings(settings).register(
        model, source, lineage.tags(), description=f"run {run.info.run_name} ({tracking.uri})"
    )
    return version.uri
