"""The retraining chain (``python -m jobs.retrain``, ``jobs.monitor --act``): one function per
step, each returning its typed outcome (a ``Step``: ok, skipped, stopped or failed, and why) and
what the next step needs:

1. ``check_trigger``: a monitor report crossed a threshold, else the chain stops;
2. ``build_pairs``: the registered dataset of the current champion plus the questions of the
   window with positive feedback + the chunk they were answered from (the logged top-1 chunk
   id, its text read from the index by id) that it does not hold yet, written as
   question/context JSONL to a file named by its content's hash (pipelines/retrain_pairs.py);
3. ``fine_tune``: the embedder (Ray Train on the connected cluster), registered as
   ``challenger`` (a dry run stops before it and says what it would run);
4. ``gate``: ``ruai.lifecycle.promotion.promote`` (challenger vs champion on held-out data);
5. ``canary``: when RUAI_RETRAIN_CANARY_WEIGHT > 0 and the gate promoted, the collection
   re-embedded with the new version as a staged version and an experiment with that version
   as a canary arm at that weight (written as JSON; started in RUAI_RETRAIN_CANARY_APP when set,
   in its RayService's serveConfigV2 when RUAI_RETRAIN_CANARY_RAYSERVICE names one).

A step catches the failures it expects (a missing model, an unreadable dataset, a refused store
or Serve call) and reports them as ``failed``; anything else is a bug and raises.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path

from ruai.lifecycle.lineage import DATASET
from ruai.lifecycle.monitoring import MonitorReport
from ruai.lifecycle.registry import CHAMPION, ModelRef, Registry, Version
from ruai.settings import Settings
from ruai.store.base import StoreError, VectorStore

logger = logging.getLogger(__name__)


class Status(StrEnum):
    OK = "ok"
    SKIPPED = "skipped"  # not wanted here (a setting says so); the chain goes on
    STOPPED = "stopped"  # nothing (more) to do, or refused: the chain ends, not an error
    FAILED = "failed"


OK, SKIPPED, STOPPED, FAILED = Status.OK, Status.SKIPPED, Status.STOPPED, Status.FAILED


@dataclass(frozen=True, slots=True)
class Step:
    """One step's outcome."""

    name: str
    status: Status
    detail: str

    @property
    def goes_on(self) -> bool:
        return self.status in (OK, SKIPPED)


def failed(name: str, exc: Exception, what: str = "") -> Step:
    return Step(name, FAILED, f"{what}{type(exc).__name__}: {exc}")


@dataclass(frozen=True, slots=True)
class Pairs:
    """The pairs file to fine-tune on and the model to start from (the champion, else
    RUAI_DENSE_MODEL)."""

    dataset: Path
    base: str


@dataclass(slots=True)
class Chain:
    """The steps run so far; ``dataset`` is the pairs file once written."""

    steps: list[Step] = field(default_factory=list)
    dataset: Path | None = None

    @property
    def failed(self) -> bool:
        return any(step.status is FAILED for step in self.steps)

    def to_list(self) -> list[dict]:
        return [asdict(step) | {"status": str(step.status)} for step in self.steps]


def check_trigger(report: MonitorReport) -> Step:
    triggers = report.triggers()
    if not triggers:
        return Step("trigger", STOPPED, "no drift or feedback threshold was crossed")
    return Step("trigger", OK, "; ".join(triggers))


def build_pairs(
    settings: Settings,
    rows: list[dict],
    ratings: Mapping[str, int],
    work_dir: Path,
    store: VectorStore | None = None,
) -> tuple[Step, Pairs | None]:
    """``store``: the index the window's chunks are read from (default
    ``raystore.store_for(settings)``, opened only when there are answers to read)."""
    from mlflow.exceptions import MlflowException

    from pipelines.retrain_pairs import (
        new_pairs,
        positives,
        prune_pairs,
        registered_rows,
        window_pairs,
        write_pairs,
    )
    from ruai.eval.squad import SquadFormatError

    liked = positives(rows, ratings)
    if not liked:
        return Step(
            "pairs", STOPPED, "no positively rated answer in the window to learn from"
        ), None
    model = settings.retrain_model
    try:
        if store is None:
            from raystore import store_for

            store = store_for(settings)
        registry = Registry.from_settings(settings)
        champion = registry.find(ModelRef(model, alias=CHAMPION))
        registered = {Path(v.tags[DATASET]).resolve() for v in registry.versions(model)
                      if DATASET in v.tags}  # fmt: skip
        if champion is not None and DATASET not in champion.tags:
            lineage = f"{champion.uri} (the champion) has no {DATASET!r} tag to add the window to"
            return Step("pairs", FAILED, lineage), None
        pairs, missing = window_pairs(liked, store, settings.collection)
        base_rows = registered_rows(Path(champion.tags[DATASET])) if champion else []
    except (MlflowException, StoreError, SquadFormatError, OSError) as exc:
        return failed("pairs", exc), None
    if not pairs:
        return Step(
            "pairs",
            STOPPED,
            f"none of the {len(liked)} positively rated answers' chunks is in the index "
            f"any more ({missing} missing)",
        ), None
    fresh = new_pairs(base_rows, pairs)
    known = len(pairs) - len(fresh)
    if not fresh:
        return Step(
            "pairs",
            STOPPED,
            f"all {len(pairs)} window pairs are already in the champion's registered dataset "
            f"{champion.tags[DATASET]}: nothing new to learn",
        ), None
    try:
        dataset = write_pairs(work_dir, [*base_rows, *fresh])
        stale = prune_pairs(work_dir, {*registered, dataset.resolve()})
    except OSError as exc:
        return failed("pairs", exc), None
    source = f" + {len(base_rows)} of the registered dataset" if champion else ""
    skipped = f" ({known} already in it, skipped)" if known else ""
    removed = f"; removed {len(stale)} unregistered pairs file(s)" if stale else ""
    detail = f"{len(fresh)} window pairs{source}{skipped}{removed} -> {dataset}"
    base = champion.uri if champion else settings.dense_model
    return Step("pairs", OK, detail), Pairs(dataset, base)


def fine_tune(settings: Settings, pairs: Pairs, work_dir: Path, *, execute: bool) -> Step:
    if not execute:
        return Step(
            "fine-tune",
            STOPPED,
            f"dry run: would fine-tune {pairs.base} for {settings.retrain_epochs} epoch(s) on "
            f"{pairs.dataset} (pass --execute)",
        )
    from ray.exceptions import RayError
    from ray.train import TrainingFailedError

    from pipelines.train_embedder import check_inputs, train_embedder
    from ruai.encoders.base import ModelNotFoundError
    from ruai.eval.squad import SquadFormatError
    from ruai.training.rows import NoValidPairsError

    try:
        inputs = check_inputs(settings, pairs.dataset, pairs.base)
        result = train_embedder(
            settings,
            inputs,
            work_dir / "model",
            hp_overrides={"epochs": settings.retrain_epochs},
            name="retrain",
            register_as=settings.retrain_model,
        )
    except (ModelNotFoundError, NoValidPairsError, SquadFormatError, OSError) as exc:
        return failed("fine-tune", exc)
    except (TrainingFailedError, RayError) as exc:
        return failed("fine-tune", exc, "the Ray Train run failed: ")
    return Step("fine-tune", OK, f"registered {result.registered} as challenger")


def gate(settings: Settings) -> tuple[Step, Version | None]:
    """The gate's decision; the promoted version when it promoted."""
    from ruai.encoders.base import ModelNotFoundError
    from ruai.lifecycle.promotion import promote

    try:
        promotion = promote(settings, settings.retrain_model)
    except (ModelNotFoundError, FileNotFoundError, ValueError) as exc:
        return failed("gate", exc), None
    decision = promotion.decision
    if not decision.promote:
        return Step("gate", STOPPED, decision.summary()), None
    return Step("gate", OK, decision.summary()), promotion.challenger


def canary_experiment(settings: Settings, version: Version, collection: str) -> dict:
    """The experiment that sends RUAI_RETRAIN_CANARY_WEIGHT % of traffic to ``collection``, the
    version of the collection re-embedded with ``version`` (staged: its alias unmoved)."""
    from ruai.lifecycle.arms import Arm, Experiment

    weight = settings.retrain_canary_weight
    experiment = Experiment(
        name=f"{version.name}-canary",
        arms=(
            Arm(name="champion", weight=100 - weight),
            Arm(name=f"{version.name}-v{version.version}", weight=weight, collection=collection),
        ),
    )
    return experiment.model_dump(mode="json")


def canary(settings: Settings, version: Version, work_dir: Path) -> Step:
    if settings.retrain_canary_weight == 0:
        return Step("canary", SKIPPED, "RUAI_RETRAIN_CANARY_WEIGHT=0: no canary arm")
    from pipelines.reindex import ReindexIncompleteError, run_reindex
    from pipelines.serve_rollout import RolloutError
    from ruai.encoders.base import ModelNotFoundError

    collection = settings.collection
    try:  # the new embedder's vectors: a staged version of the collection, its alias unmoved
        staged = run_reindex(settings, collection, version.uri, flip=False)
    except (StoreError, ModelNotFoundError, ReindexIncompleteError, ValueError) as exc:
        return failed("canary", exc, "re-index: ")
    experiment = canary_experiment(settings, version, staged.new_version)
    arm = experiment["arms"][-1]["name"]
    path = work_dir / "experiment.json"
    path.write_text(json.dumps(experiment, ensure_ascii=False, indent=2), encoding="utf-8")
    flip = f"python -m jobs.reindex --collection {collection} --flip-to {staged.new_version}"
    app = settings.retrain_canary_app
    if not app:
        return Step(
            "canary",
            OK,
            f"{staged.new_version} staged ({staged.points_new} points); experiment "
            f"{experiment['name']} at {settings.retrain_canary_weight}% -> {path}; start it in "
            f"a running app: python -m jobs.rollout --app <app> --experiment-file {path}; when "
            f"it holds up: {flip}",
        )
    try:  # start it in the running app: the arm takes its share
        started = start_canary(settings, app, experiment)
    except RolloutError as exc:
        return failed("canary", exc, f"{staged.new_version} staged; starting it: ")
    return Step(
        "canary",
        OK,
        f"{staged.new_version} staged; experiment {experiment['name']} running in {started} "
        f"with {arm} at {settings.retrain_canary_weight}%; when it holds up: {flip}",
    )


def start_canary(settings: Settings, app: str, experiment: dict) -> str:
    """Start ``experiment`` in the running ``app``: in its RayService's serveConfigV2 when
    RUAI_RETRAIN_CANARY_RAYSERVICE names one (KubeRay keeps it there), else through Serve's
    REST API; returns where. RolloutError when it cannot."""
    from pipelines.serve_rollout import (
        adding,
        dashboard_address,
        parsed_experiment,
        start_experiment,
    )

    if not settings.retrain_canary_rayservice:
        start_experiment(dashboard_address(), app, experiment)
        return app
    from pipelines.rayservice_rollout import RayServiceRef, kubernetes_api, roll_out

    namespace, name = settings.retrain_canary_rayservice.split("/")
    where = RayServiceRef(name, namespace)
    roll_out(kubernetes_api(), where, app, adding(parsed_experiment(experiment)))
    return f"{app} of {where}"


def run_chain(
    settings: Settings,
    report: MonitorReport,
    rows: list[dict],
    ratings: Mapping[str, int],
    work_dir: Path,
    *,
    execute: bool = False,
    store: VectorStore | None = None,
    log: Callable[[Step], None] | None = None,
) -> Chain:
    """The steps in order, until one does not let the chain go on; each logged as it ends
    (``log``, and this module's logger). ``store``: as ``build_pairs`` takes it."""
    chain = Chain()

    def record(step: Step) -> bool:
        chain.steps.append(step)
        logger.info("retrain %s: %s: %s", step.name, step.status, step.detail)
        if log is not None:
            log(step)
        return step.goes_on

    if not record(check_trigger(report)):
        return chain
    step, pairs = build_pairs(settings, rows, ratings, work_dir, store)
    if not record(step) or pairs is None:
        return chain
    chain.dataset = pairs.dataset
    if not record(fine_tune(settings, pairs, work_dir, execute=execute)):
        return chain
    step, promoted = gate(settings)
    if not record(step) or promoted is None:
        return chain
    record(canary(settings, promoted, work_dir))
    return chain
