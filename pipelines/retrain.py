"""The retraining trigger (``jobs.monitor --act``): when a monitor report crossed a threshold,

1. pairs: the registered dataset of the current champion plus the questions of the window with
   positive feedback + the chunk they were answered from (the logged top-1 chunk id, its text
   read from the index by id) that it does not hold yet, written as question/context JSONL to a
   file named by its content's hash (``pairs-<sha256[:16]>.jsonl``): a run never rewrites the
   file an earlier run's version was registered with, and removes the files no version was
   registered with once they are a day old (dry runs', failed fine-tunes');
2. fine-tune: the embedder (Ray Train on the connected cluster), registered as ``challenger``;
3. gate: ``ruai.lifecycle.promotion.promote`` (challenger vs champion on held-out data);
4. canary: when RUAI_RETRAIN_CANARY_WEIGHT > 0 and the gate promoted, the collection re-embedded
   with it as a staged version (``jobs.reindex --stage``) and an experiment with that version as
   a canary arm at that weight (written as JSON, for the app's config; in a running
   app that already has the arm, ``jobs.rollout --experiment … --arm … --weight …`` sets it).

Without ``execute`` it is a dry run: it stops before the fine-tune and says what it would do.
Every step is logged; a failed or refused step stops the chain and says why.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from ruai.lifecycle.lineage import DATASET
from ruai.lifecycle.monitoring import MonitorReport
from ruai.lifecycle.registry import CHAMPION, ModelRef, Registry
from ruai.settings import Settings
from ruai.store.base import CollectionNotFoundError, VectorStore

logger = logging.getLogger(__name__)
OK, SKIPPED, STOPPED, FAILED = "ok", "skipped", "stopped", "failed"
# an unregistered pairs file younger than this may be a running fine-tune's: it stays
UNREGISTERED_PAIRS_KEPT_S = 86_400


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    status: str
    detail: str


class Chain:
    def __init__(self, log: Callable[[Step], None] | None = None) -> None:
        self.steps: list[Step] = []
        self.dataset: Path | None = None  # the pairs file, once written
        self._log = log

    def record(self, name: str, status: str, detail: str) -> bool:
        """Log a step; True when the chain may go on."""
        step = Step(name, status, detail)
        self.steps.append(step)
        logger.info("retrain %s: %s: %s", name, status, detail)
        if self._log:
            self._log(step)
        return status in (OK, SKIPPED)

    def to_list(self) -> list[dict]:
        return [asdict(s) for s in self.steps]


def positives(rows: list[dict], ratings: Mapping[str, int]) -> list[dict]:
    """The window's answers rated +1 that kept their question text and retrieved a chunk."""
    return [
        r
        for r in rows
        if ratings.get(r.get("response_id") or "") == 1 and r.get("question") and r.get("chunk_ids")
    ]


def window_pairs(
    rows: list[dict], store: VectorStore, default_collection: str
) -> tuple[list[dict], int]:
    """(question/context/title rows of positively rated answers, their top-1 chunk's text read
    from the index by id; the number of those whose chunk is no longer in the index)."""
    firsts = [
        (row, row.get("collection") or default_collection, row["chunk_ids"][0]) for row in rows
    ]
    payloads: dict[tuple[str, str], dict] = {}
    for collection in {collection for _, collection, _ in firsts}:
        ids = [str(chunk) for _, named, chunk in firsts if named == collection]
        try:
            points = store.retrieve(collection, ids)
        except CollectionNotFoundError:  # dropped since: each of its chunks is missing
            continue
        payloads.update({(collection, p.id): p.payload for p in points})
    pairs, missing, seen = [], 0, set()
    for row, collection, chunk in firsts:
        if row["question"] in seen:
            continue
        payload = payloads.get((collection, str(chunk)))
        if payload is None:
            missing += 1
            continue
        seen.add(row["question"])
        title = str(payload.get("title") or payload.get("source"))
        pairs.append(
            {"question": row["question"], "context": payload.get("text", ""), "title": title}
        )
    return pairs, missing


def registered_rows(dataset: Path) -> list[dict]:
    """The registered dataset's questions as question/context JSONL rows (answers kept)."""
    from ruai.eval.squad import read_squad

    data = read_squad(dataset)
    contexts = {p.paragraph_id: (p.context, p.article_title) for p in data.paragraphs}
    rows = []
    for q in data.questions:
        context, title = contexts[q.paragraph_id]
        answers = [
            {"text": t, "answer_start": s} for t, s in zip(q.answers, q.answer_starts, strict=False)
        ]
        rows.append(
            {"question": q.question, "context": context, "title": title, "answers": answers}
        )
    return rows


def new_pairs(base_rows: list[dict], pairs: list[dict]) -> list[dict]:
    """The window's pairs that the registered dataset does not hold yet (same question and
    context): a window overlapping an earlier run's adds nothing twice."""
    known = {(r["question"], r["context"]) for r in base_rows}
    return [p for p in pairs if (p["question"], p["context"]) not in known]


def write_pairs(work_dir: Path, rows: list[dict]) -> Path:
    """``rows`` as JSONL in ``work_dir``, in a file named by the hash of its content: another
    run's rows never overwrite it (a registered version's dataset keeps its sha256), and the
    same rows find it already written."""
    body = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()
    path = work_dir / f"pairs-{hashlib.sha256(body).hexdigest()[:16]}.jsonl"
    if path.is_file():
        return path
    work_dir.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=f"{path.name}.", suffix=".partial", dir=work_dir)
    with os.fdopen(fd, "wb") as out:
        out.write(body)
    Path(partial).replace(path)
    return path


def prune_pairs(work_dir: Path, keep: set[Path], now: float | None = None) -> list[Path]:
    """Remove the pairs files in ``work_dir`` not in ``keep`` (the registered versions' datasets,
    this run's) and older than UNREGISTERED_PAIRS_KEPT_S; return them."""
    now = time.time() if now is None else now
    removed = []
    for path in work_dir.glob("pairs-*.jsonl"):
        if path.resolve() in keep:
            continue
        if now - path.stat().st_mtime > UNREGISTERED_PAIRS_KEPT_S:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def canary_experiment(settings: Settings, model: str, version: str, collection: str) -> dict:
    """The experiment that sends RUAI_RETRAIN_CANARY_WEIGHT % of traffic to ``collection``, the
    version of the collection re-embedded with the new embedder (staged: its alias unmoved)."""
    from ruai.lifecycle.arms import Arm, Experiment

    weight = settings.retrain_canary_weight
    experiment = Experiment(
        name=f"{model}-canary",
        arms=(
            Arm(name="champion", weight=100 - weight),
            Arm(name=f"{model}-v{version}", weight=weight, collection=collection),
        ),
    )
    return experiment.model_dump(mode="json")


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
    chain = Chain(log)
    triggers = report.triggers()
    if not triggers:
        chain.record("trigger", STOPPED, "no drift or feedback threshold was crossed")
        return chain
    chain.record("trigger", OK, "; ".join(triggers))

    liked = positives(rows, ratings)
    if not liked:
        chain.record("pairs", STOPPED, "no positively rated answer in the window to learn from")
        return chain
    model = settings.retrain_model
    try:
        registry = Registry.from_settings(settings)
        champion = registry.find(ModelRef(model, alias=CHAMPION))
        registered = {Path(v.tags[DATASET]).resolve() for v in registry.versions(model)
                      if DATASET in v.tags}  # fmt: skip
        if store is None:
            from raystore import store_for

            store = store_for(settings)
        pairs, missing = window_pairs(liked, store, settings.collection)
        base_rows = registered_rows(Path(champion.tags[DATASET])) if champion else []
    except Exception as exc:  # noqa: BLE001 - any failure stops the chain with its reason
        chain.record("pairs", FAILED, f"{type(exc).__name__}: {exc}")
        return chain
    if not pairs:
        chain.record(
            "pairs",
            STOPPED,
            f"none of the {len(liked)} positively rated answers' chunks is in the index "
            f"any more ({missing} missing)",
        )
        return chain
    fresh = new_pairs(base_rows, pairs)
    known = len(pairs) - len(fresh)
    if not fresh:
        chain.record(
            "pairs",
            STOPPED,
            f"all {len(pairs)} window pairs are already in the champion's registered dataset "
            f"{champion.tags[DATASET]}: nothing new to learn",
        )
        return chain
    try:
        dataset = write_pairs(work_dir, [*base_rows, *fresh])
        stale = prune_pairs(work_dir, {*registered, dataset.resolve()})
    except OSError as exc:
        chain.record("pairs", FAILED, f"{type(exc).__name__}: {exc}")
        return chain
    chain.dataset = dataset
    source = f" + {len(base_rows)} of the registered dataset" if champion else ""
    skipped = f" ({known} already in it, skipped)" if known else ""
    removed = f"; removed {len(stale)} unregistered pairs file(s)" if stale else ""
    chain.record("pairs", OK, f"{len(fresh)} window pairs{source}{skipped}{removed} -> {dataset}")

    base = str(champion.uri) if champion else settings.dense_model
    if not execute:
        chain.record(
            "fine-tune",
            STOPPED,
            f"dry run: would fine-tune {base} for "
            f"{settings.retrain_epochs} epoch(s) on {dataset} (pass --execute)",
        )
        return chain
    try:
        from pipelines.train_embedder import check_inputs, train_embedder

        inputs = check_inputs(settings, dataset, base)
        result = train_embedder(
            settings,
            inputs,
            work_dir / "model",
            hp_overrides={"epochs": settings.retrain_epochs},
            name="retrain",
            register_as=model,
        )
    except Exception as exc:  # noqa: BLE001
        chain.record("fine-tune", FAILED, f"{type(exc).__name__}: {exc}")
        return chain
    chain.record("fine-tune", OK, f"registered {result.registered} as challenger")

    try:
        from ruai.lifecycle.promotion import promote

        promotion = promote(settings, model)
    except Exception as exc:  # noqa: BLE001
        chain.record("gate", FAILED, f"{type(exc).__name__}: {exc}")
        return chain
    decision = promotion.decision
    if not chain.record("gate", OK if decision.promote else STOPPED, decision.summary()):
        return chain

    if settings.retrain_canary_weight == 0:
        chain.record("canary", SKIPPED, "RUAI_RETRAIN_CANARY_WEIGHT=0: no canary arm")
        return chain
    version = promotion.challenger.rsplit("/", 1)[-1]
    try:  # the new embedder's vectors: a staged version of the collection, its alias unmoved
        from pipelines.reindex import run_reindex

        staged = run_reindex(settings, settings.collection, f"models:/{model}/{version}",
                             flip=False)  # fmt: skip
    except Exception as exc:  # noqa: BLE001
        chain.record("canary", FAILED, f"re-index: {type(exc).__name__}: {exc}")
        return chain
    experiment = canary_experiment(settings, model, version, staged.new_version)
    arm = experiment["arms"][-1]["name"]
    path = work_dir / "experiment.json"
    path.write_text(json.dumps(experiment, ensure_ascii=False, indent=2), encoding="utf-8")
    if settings.retrain_canary_app:  # start it in the running app: the arm takes its share
        from pipelines.serve_rollout import RolloutError, dashboard_address, start_experiment

        try:
            start_experiment(dashboard_address(), settings.retrain_canary_app, experiment)
        except RolloutError as exc:
            chain.record("canary", FAILED, f"{staged.new_version} staged; starting it: {exc}")
            return chain
        chain.record(
            "canary",
            OK,
            f"{staged.new_version} staged; experiment {experiment['name']} running in "
            f"{settings.retrain_canary_app} with {arm} at {settings.retrain_canary_weight}%; "
            f"when it holds up: python -m jobs.reindex --collection {settings.collection} "
            f"--flip-to {staged.new_version}",
        )
        return chain
    chain.record(
        "canary",
        OK,
        f"{staged.new_version} staged ({staged.points_new} points); experiment "
        f"{experiment['name']} at {settings.retrain_canary_weight}% -> {path}; start it in a "
        f"running app: python -m jobs.rollout --app <app> --experiment-file {path}; when it "
        f"holds up: python -m jobs.reindex --collection {settings.collection} "
        f"--flip-to {staged.new_version}",
    )
    return chain
