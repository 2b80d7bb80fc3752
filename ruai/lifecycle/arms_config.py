"""The experiments a RAG app runs, as its ingress deployment's ``user_config`` declares them:
what ``serve_apps`` applies per request and what ``jobs.rollout`` / the retraining chain's canary
step change in a running app (pipelines/serve_rollout.py)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ruai.lifecycle.arms import Experiment
from ruai.lifecycle.guardrails import Limits
from ruai.settings import Settings


class ScopedExperiment(Experiment):
    """An experiment and the requests it takes: those of one model id (``rag-<collection>``,
    the LLM's name; an adapter suffix ``:<adapter>`` is ignored), or every request (None)."""

    model: str | None = None


class ArmsConfig(BaseModel):
    """The ingress deployment's ``user_config``."""

    model_config = ConfigDict(extra="forbid")

    experiments: list[ScopedExperiment] = Field(default_factory=list)
    guardrails: Limits | None = Field(
        default_factory=Limits, description="per-arm limits; null: no guardrails"
    )

    @model_validator(mode="after")
    def _one_experiment_per_scope(self) -> ArmsConfig:
        check_scopes(self.experiments)
        return self

    def with_weight(self, experiment: str, arm: str, weight: int) -> ArmsConfig:
        """A copy with one arm's weight changed: KeyError for an unknown experiment or arm,
        ValueError when no arm would keep traffic."""
        current = {e.name: e for e in self.experiments}
        if experiment not in current:
            raise KeyError(f"no experiment {experiment!r}; there are {sorted(current)}")
        changed = current[experiment].with_weights({arm: weight})
        experiments = [changed if e.name == experiment else e for e in self.experiments]
        return self.model_copy(update={"experiments": experiments})

    def with_experiment(self, experiment: ScopedExperiment) -> ArmsConfig:
        """A copy that runs ``experiment`` too, in place of one of the same name; validated as a
        whole (ValueError: e.g. a second experiment for one model)."""
        kept = [e for e in self.experiments if e.name != experiment.name]
        return ArmsConfig.model_validate(
            self.model_dump(mode="json")
            | {"experiments": [e.model_dump(mode="json") for e in (*kept, experiment)]}
        )

    def weights(self, experiment: str) -> dict[str, int]:
        """Each arm's weight in ``experiment`` ({} when there is no such experiment)."""
        found = next((e for e in self.experiments if e.name == experiment), None)
        return {a.name: a.weight for a in found.arms} if found else {}

    def check_serving(self, settings: Settings) -> ArmsConfig:
        """What the app's settings decide: an arm's adapter needs generator=vllm with
        RUAI_LLM_LORA_PATH; the app serves one base LLM."""
        llm_name = settings.llm_served_name if settings.generator == "vllm" else ""
        serves_adapters = bool(llm_name and settings.llm_lora_path)
        for i, experiment in enumerate(self.experiments):
            for j, arm in enumerate(experiment.arms):
                where = f"experiments.{i}.arms.{j}"
                if arm.adapter and not serves_adapters:
                    raise ValueError(
                        f"{where}.adapter: LoRA adapters are served with generator=vllm and "
                        "RUAI_LLM_LORA_PATH set"
                    )
                if arm.llm and arm.llm != llm_name:
                    raise ValueError(
                        f"{where}.llm: this app serves one base LLM ({llm_name or 'none'}); "
                        f"deploy another app for {arm.llm!r}"
                    )
        return self


def check_scopes(experiments: list[ScopedExperiment]) -> None:
    """Names are unique, and a request is in at most one experiment (one per model)."""
    for attribute in ("name", "model"):
        values = [getattr(e, attribute) for e in experiments]
        repeated = sorted({str(v) for v in values if values.count(v) > 1})
        if repeated:
            raise ValueError(f"experiments: two experiments with {attribute} {repeated}")
