"""MLflow tracking of a training run: parameters, per-epoch metrics, artifacts.

By default a local store under the run's directory: ``<dir>/mlruns/mlflow.db`` (SQLite: MLflow 3
refuses its old file store) with artifacts in ``<dir>/mlruns/artifacts``;
RUAI_MLFLOW_TRACKING_URI points elsewhere (a tracking server on a cluster).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ruai.settings import Settings


@dataclass(frozen=True, slots=True)
class Tracking:
    uri: str
    experiment: str
    # where a new experiment keeps its artifacts; None: the tracking server decides
    artifact_location: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings, default_dir: Path) -> Tracking:
        if settings.mlflow_tracking_uri:
            return cls(
                settings.mlflow_tracking_uri,
                settings.mlflow_experiment,
                settings.mlflow_artifact_root,
            )
        root = (default_dir / "mlruns").resolve()
        root.mkdir(parents=True, exist_ok=True)
        return cls(
            f"sqlite:///{root / 'mlflow.db'}",
            settings.mlflow_experiment,
            (root / "artifacts").as_uri(),
        )

    def activate(self) -> str:
        """Point mlflow at this store and experiment (created if missing); its id."""
        # offline platform: MLflow 3's usage telemetry would try the network and write
        # ~/.config/mlflow/telemetry.json
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        import mlflow

        mlflow.set_tracking_uri(self.uri)
        found = mlflow.get_experiment_by_name(self.experiment)
        if found is not None:
            experiment_id = found.experiment_id
        else:
            experiment_id = mlflow.create_experiment(
                self.experiment, artifact_location=self.artifact_location
            )
        mlflow.set_experiment(experiment_id=experiment_id)
        return experiment_id


def log_run(
    tracking: Tracking,
    run_name: str,
    params: Mapping[str, object],
    history: Iterable[Mapping[str, object]],
    artifacts: Iterable[Path] = (),
    tags: Mapping[str, str] | None = None,
) -> str:
    """One MLflow run: ``params``, each history row as metrics at ``step=row["epoch"]``, and
    ``artifacts`` (files or directories). Returns the run id."""
    import mlflow

    tracking.activate()
    with mlflow.start_run(run_name=run_name, tags=dict(tags or {})) as run:
        mlflow.log_params({k: str(v) for k, v in params.items()})
        for row in history:
            step = int(row.get("epoch", 0))
            metrics = {k: float(v) for k, v in row.items() if _is_metric(k, v)}
            mlflow.log_metrics(metrics, step=step)
        for path in artifacts:
            if path.is_dir():
                mlflow.log_artifacts(str(path), artifact_path=path.name)
            else:
                mlflow.log_artifact(str(path))
        return run.info.run_id


def _is_metric(name: str, value: object) -> bool:
    return (
        name != "epoch"
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )
