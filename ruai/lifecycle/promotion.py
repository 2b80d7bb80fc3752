"""jobs.promote's work, without Ray: evaluate the ``challenger`` and the ``champion`` (or, for a
model without a champion yet, the base model the challenger was fine-tuned from) on the
challenger's registered held-out split, log both to one MLflow run, and move ``champion`` when
the gate says so."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ruai.lifecycle.gate import Decision
from ruai.lifecycle.lineage import BASE_MODEL, EMBEDDER, KIND, LORA
from ruai.lifecycle.registry import (
    CHALLENGER,
    CHAMPION,
    ModelRef,
    Registry,
    Version,
    model_path,
)
from ruai.settings import Settings
from ruai.training.tracking import Tracking


@dataclass(frozen=True, slots=True)
class Promotion:
    decision: Decision
    challenger: Version  # the version judged (the champion now when the gate promoted it)
    champion: str  # models:/<name>/<version>, or the base model when there was no champion
    run_id: str


# (model dir, the challenger's lineage tags, settings) -> metrics
Evaluate = Callable[[Path, Mapping[str, str], Settings], dict]


def _evaluator(kind: str) -> tuple[Evaluate, Callable[[Mapping[str, str]], str], bool]:
    """(evaluate, primary metric of the lineage, higher is better) for a version's kind."""
    if kind == EMBEDDER:
        from ruai.lifecycle.embedder_eval import held_out_recall, primary_metric

        return held_out_recall, primary_metric, True
    if kind == LORA:
        from ruai.lifecycle.adapter_eval import PRIMARY, held_out_answers

        return held_out_answers, lambda _tags: PRIMARY, False
    raise ValueError(f"cannot evaluate a registered version of kind {kind!r}")


def promote(settings: Settings, model: str, margin: float | None = None) -> Promotion:
    registry = Registry.from_settings(settings)
    challenger = registry.get(ModelRef(model, alias=CHALLENGER))
    champion = registry.find(ModelRef(model, alias=CHAMPION))
    evaluate, primary, higher_is_better = _evaluator(challenger.tags[KIND])
    if champion is not None and champion.version == challenger.version:
        raise ValueError(f"models:/{model}@challenger is already the champion ({champion.uri})")
    # both are measured on the challenger's held-out split: the data the champion is judged on
    # must be data the challenger never trained on
    tags = challenger.tags
    challenger_metrics = evaluate(registry.local_path(challenger), tags, settings)
    if champion is not None:
        champion_label, champion_dir = champion.uri, registry.local_path(champion)
    else:
        champion_label = tags[BASE_MODEL]
        champion_dir = Path(model_path(champion_label, settings))
    champion_metrics = evaluate(_local_base(champion_dir, tags), tags, settings)
    decision = Decision(
        primary(tags),
        higher_is_better,
        settings.promote_margin if margin is None else margin,
        challenger_metrics,
        champion_metrics,
    )
    run_id = _log(settings, model, decision, challenger.uri, champion_label)
    if decision.promote:
        registry.set_alias(model, CHAMPION, challenger.version)
    return Promotion(decision, challenger, champion_label, run_id)


def _local_base(path: Path, tags: Mapping[str, str]) -> Path:
    """A base embedder named by id (all-MiniLM-L6-v2, a Hub id in the cache) as a directory."""
    if tags[KIND] == EMBEDDER and not path.is_dir():
        from ruai.encoders.sentence_transformer import resolve_local_model

        return resolve_local_model(str(path))
    return path


def _log(settings: Settings, model: str, decision: Decision, challenger: str, champion: str) -> str:
    """One MLflow run in the registry's store: both sides' metrics (``challenger.*``,
    ``champion.*``), the margin, the decision."""
    import mlflow

    root = Path(settings.registry_dir).expanduser().resolve()
    tracking = Tracking(
        Registry.from_settings(settings).uri,
        f"{settings.mlflow_experiment}-promote",
        settings.mlflow_artifact_root or (root / "artifacts").as_uri(),
    )
    tracking.activate()
    tags = {
        "model": model,
        "challenger": challenger,
        "champion": champion,
        "decision": "promoted" if decision.promote else "refused",
    }
    with mlflow.start_run(run_name=f"promote-{model}", tags=tags) as run:
        mlflow.log_params({"primary": decision.primary, "margin": decision.margin, "model": model})
        for side, metrics in (("challenger", decision.challenger), ("champion", decision.champion)):
            mlflow.log_metrics({f"{side}.{k}": float(v) for k, v in metrics.items()})
        mlflow.log_metric("gain", decision.gain)
        return run.info.run_id
