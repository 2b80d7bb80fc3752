"""A model made outside a Ray Train run, registered the way a finished run registers its model.

The gates need a version that must lose: random LoRA weights (the adapter gate) or an embedder
wrecked in this process (the embedder gate) do that without a Ray Train run of their own (a run's
actors and workers cost ~25 CPU-s before its first step). Registration goes through
pipelines.train_run.finish_run, the step a run takes after `fit()` (copy out of the checkpoint,
log to MLflow, register as challenger).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from ruai.lifecycle.lineage import Lineage
from ruai.settings import Settings


def register_folder(
    settings: Settings,
    folder: Path,
    subdir: str,
    model: str,
    lineage: Lineage,
    work: Path,
    params: dict,
) -> str:
    """Register ``folder`` as ``model``'s new challenger through a checkpoint shaped like a
    training run's (``<subdir>/`` and an empty history), with ``params`` logged as the run's;
    returns ``models:/<model>/<version>``."""
    from ray.train import Checkpoint

    from pipelines.train_run import finish_run
    from ruai.training.embedder_session import HISTORY_FILENAME

    checkpoint = work / "checkpoint"
    shutil.copytree(folder, checkpoint / subdir)
    (checkpoint / HISTORY_FILENAME).write_text("[]")
    result = finish_run(
        settings,
        Checkpoint.from_directory(str(checkpoint)),
        subdir,
        work / "registered",
        f"outside-ray-train-{folder.name}",
        params,
        {},
        time.perf_counter(),
        register=(model, lineage),
    )
    return result.registered
