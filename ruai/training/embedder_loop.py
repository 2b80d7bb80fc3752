"""The epoch loop both Ray Train workers and Ray Tune trials run around an EmbedderSession."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from ruai.training.embedder_session import Batch, EmbedderSession
from ruai.training.recall import PassageRecall

# (metrics, checkpoint directory or None) -> None; the directory is gone after the call
Report = Callable[[dict, Path | None], None]


def run_epochs(
    session: EmbedderSession,
    batches_for_epoch: Callable[[int], Iterable[Batch]],
    report: Report,
    recall: PassageRecall | None = None,
    chief: bool = True,
) -> None:
    """Train the remaining epochs; after each, report loss and (on the chief) validation recall
    with a checkpoint. The first attempt also measures the untrained model as ``baseline_*``."""
    resumed_from = session.epoch
    if chief and recall is not None and session.epoch == 0:
        session.history.append({"epoch": 0, **session.evaluate(recall)})
    untrained = next((h for h in session.history if h["epoch"] == 0), {})
    baseline = {f"baseline_{k}": v for k, v in untrained.items() if k != "epoch"}
    while session.epoch < session.hp.epochs:
        metrics = session.train_epoch(batches_for_epoch(session.epoch))
        metrics["epoch"] = session.epoch
        if chief and recall is not None:
            metrics |= session.evaluate(recall)
        metrics |= baseline | {"resumed_from_epoch": resumed_from}
        if not chief:
            report(metrics, None)
            continue
        session.history.append(metrics)
        with tempfile.TemporaryDirectory(prefix="ruai-ckpt-") as tmp:
            report(metrics, session.save(Path(tmp)))
