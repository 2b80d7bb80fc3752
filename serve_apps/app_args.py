"""The arguments of the RAG application (``args:`` of a `serve deploy` config, a RayService, or
``serve run serve_apps.rag:build_app key=value``): a pydantic model that forbids unknown keys,
so that a typo fails at deploy with the field's name, as Ray validates ``LLMServingArgs``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ruai.lifecycle.arms_config import ScopedExperiment, check_scopes
from ruai.lifecycle.guardrails import Limits
from ruai.settings import Settings


class DeploymentArgs(BaseModel):
    """Resources and Serve options of one deployment (fractional CPUs fit a 2-core laptop)."""

    model_config = ConfigDict(extra="forbid")

    num_cpus: float = Field(0.25, ge=0)
    num_gpus: float | None = Field(None, ge=0)
    memory: int | None = Field(None, ge=0)
    num_replicas: int | Literal["auto"] | None = None
    max_ongoing_requests: int | None = Field(None, ge=1)
    max_queued_requests: int | None = None
    autoscaling_config: dict[str, Any] | None = None
    # 1: replicas spread over the nodes, so that losing a node leaves the others answering
    max_replicas_per_node: int | None = Field(None, ge=1)

    def actor_options(self) -> dict[str, Any]:
        return self.model_dump(include={"num_cpus", "num_gpus", "memory"}, exclude_none=True)

    def deployment_options(self) -> dict[str, Any]:
        return self.model_dump(
            include={"num_replicas", "max_ongoing_requests", "max_queued_requests",
                     "autoscaling_config", "max_replicas_per_node"},
            exclude_none=True,
        )  # fmt: skip


class RagAppArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    settings: dict[str, Any] = Field(
        default_factory=dict, description="Settings fields; RUAI_* environment variables win"
    )
    collections: list[str] = Field(
        default_factory=list,
        description="collections served (as rag-<name>; default: [settings.collection])",
    )
    search: DeploymentArgs = DeploymentArgs()
    search_in_ingress: bool = Field(
        False,
        description="search (encode + store call) in the ingress's process, no Search deployment: "
        "one process hop less for a cheap CPU encoder (the local profile)",
    )
    generator: DeploymentArgs = DeploymentArgs()
    generator_in_ingress: bool = Field(
        False,
        description="the extractive answerer in the ingress's process, no generator deployment "
        "(the local profile; not with generator: vllm)",
    )
    ingress: DeploymentArgs = DeploymentArgs()
    engine_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="extra vLLM engine arguments (generator=vllm)"
    )
    llm_env_vars: dict[str, str] = Field(
        default_factory=dict, description="environment of the vLLM engine"
    )
    # the ingress's Serve user_config (serve_apps/experiments.py): changed at run time in place
    experiments: list[ScopedExperiment] = Field(
        default_factory=list, description="A/B and canary experiments (docs/lifecycle.md)"
    )
    guardrails: Limits | None = Field(
        default_factory=Limits, description="per-arm error rate / p95 limits; null: none"
    )

    @field_validator("settings")
    @classmethod
    def _known_settings(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(value) - set(Settings.model_fields))
        if unknown:
            raise ValueError(f"unknown settings {unknown} (see ruai/settings.py)")
        return value

    @model_validator(mode="after")
    def _options_need_their_deployment(self) -> RagAppArgs:
        for part in ("search", "generator"):
            if getattr(self, f"{part}_in_ingress") and part in self.model_fields_set:
                raise ValueError(
                    f"{part}: options of a deployment, but {part}_in_ingress runs the {part} "
                    "in the ingress (give its resources under ingress:)"
                )
        return self

    @field_validator("experiments")
    @classmethod
    def _one_experiment_per_scope(cls, value: list[ScopedExperiment]) -> list[ScopedExperiment]:
        check_scopes(value)
        return value
