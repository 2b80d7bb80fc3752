"""A model nobody trained, registered the way a finished training run registers its model.

The adapter gate needs a version that must lose: random LoRA weights do that without a Ray
Train run of their own. Registration goes through pipelines.train_run.finish_run, the step a
run takes after `fit()` (copy out of the checkpoint, log to MLflow, register as challenger).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from ruai.lifecycle.lineage import Lineage
from ruai.settings import Settings


def register_untrained(
    settings: Settings, folder: Path, subdir: str, model: str, lineage: Lineage, work: Path
) -> str:
    """Register ``folder`` as ``model``'s new challenger through a checkpoint shaped like a
    training run's (``<subdir>/`` and an empty history); returns ``models:/<model>/<version>``."""
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
        f"untrained-{folder.name}",
        {"untrained": True},
        {},
        time.perf_counter(),
        register=(model, lineage),
    )
    return result.registered
