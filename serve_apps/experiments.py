"""A/B and canary experiments on the request path (the ingress's ``user_config``).

The app's config declares experiments (``RagAppArgs.experiments``, an ``ArmsConfig`` of
ruai/lifecycle/arms_config.py); ``build_app`` hands them to
the ingress deployment as its Serve ``user_config``, so a ``serve deploy`` that changes only that
(``jobs.rollout``) reconfigures the running replicas in place. Per request: the experiment of the
request's model is looked up, its arm assigned by ``ruai.lifecycle.arms`` from the caller's API
key (else the body's ``user``; else a random key: not sticky), or forced by the ``X-Ruai-Arm``
header. The request's context (``RequestContext.experiment`` / ``.arm``) holds the names (""
outside any experiment) for the response header, the metrics' ``arm`` label and the query log.
Guardrails (``ruai.lifecycle.guardrails``) watch each arm's 5xx rate and p95 latency on this
replica and set a breaking arm's weight to 0 here, logged and counted in
``ruai_arm_guardrail_trips``.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import Request
from starlette.datastructures import MutableHeaders

from ruai.lifecycle.arms import Arm
from ruai.lifecycle.arms_config import ArmsConfig, ScopedExperiment
from ruai.lifecycle.guardrails import Guard, Trip
from serve_apps.errors import ApiError, invalid
from serve_apps.metrics import NO_ARM
from serve_apps.request_context import RequestContext, request_context
from serve_apps.routing import Route

logger = logging.getLogger("ray.serve")

ARM_HEADER = "X-Ruai-Arm"
EXPERIMENT_HEADER = "X-Ruai-Experiment"


def arm_label(context: RequestContext) -> str:
    return context.arm or NO_ARM


def tag_headers(context: RequestContext, headers: MutableHeaders) -> None:
    """The arm's response headers (a response's start message, also an error's)."""
    if context.arm:
        headers[ARM_HEADER] = context.arm
        headers[EXPERIMENT_HEADER] = context.experiment


def body_fields(context: RequestContext) -> dict[str, str]:
    """The fields a response body names its arm with (none outside an experiment)."""
    return {"experiment": context.experiment, "arm": context.arm} if context.arm else {}


def routed(route: Route, arm: Arm | None) -> Route:
    """The route with the arm's collection (RAG requests) and adapter (unless the model names
    one) in place of the app's defaults."""
    if arm is None:
        return route
    collection = arm.collection if arm.collection and route.collection else route.collection
    return Route(collection, route.adapter or arm.adapter)


def collection(name: str, arm: Arm | None) -> str:
    return arm.collection if arm and arm.collection else name


def top_k(requested: int | None, arm: Arm | None, default: int) -> int:
    """A request's own top_k wins; then the arm's; then RUAI_TOP_K."""
    return requested or (arm.top_k if arm else None) or default


class Arms:
    """One per ingress replica: the current experiments and their guards."""

    def __init__(self, trips_counter: Any = None) -> None:
        self._trips = trips_counter
        self.configure(ArmsConfig())

    def configure(self, config: ArmsConfig) -> None:
        """A new config (a deploy or reconfigure): new weights, fresh guard windows."""
        self.config = config
        self.experiments: dict[str, ScopedExperiment] = {e.name: e for e in config.experiments}
        self._by_model = {e.model: e.name for e in config.experiments}
        limits = config.guardrails
        self._guards = {name: Guard(limits) for name in self.experiments} if limits else {}

    def weights(self) -> dict[str, dict[str, int]]:
        return {n: {a.name: a.weight for a in e.arms} for n, e in self.experiments.items()}

    def assign(
        self, request: Request, model: str | None, user: str | None = None, *,
        may_force: bool = False,
    ) -> Arm | None:
        """The arm of this request (None outside any experiment), named on its context.
        Only a caller that ``may_force`` (RUAI_ARM_HEADER_CALLERS) chooses one by header: any
        other could aim its requests, and so the guardrail, at an arm."""
        if not self._by_model:
            return None
        name = self._by_model.get((model or "").partition(":")[0]) or self._by_model.get(None)
        if name is None:
            return None
        experiment = self.experiments[name]
        forced = request.headers.get(ARM_HEADER)
        if forced is not None and not may_force:
            raise ApiError(
                403, f"{ARM_HEADER}: this caller may not choose an arm (setting "
                "RUAI_ARM_HEADER_CALLERS names who may)", "permission_error", "arm_not_allowed",
                ARM_HEADER,
            )  # fmt: skip
        if forced is not None and forced not in {a.name for a in experiment.arms}:
            raise invalid(
                f"{ARM_HEADER}: experiment {name!r} has no arm {forced[:64]!r} (arms: "
                f"{', '.join(a.name for a in experiment.arms)})", ARM_HEADER, "unknown_arm",
            )  # fmt: skip
        context = request_context(request)
        arm = experiment.assign(context.credential or user or uuid.uuid4().hex, forced)
        context.experiment, context.arm = name, arm.name
        return arm

    def observe(self, context: RequestContext, status: int, latency_s: float) -> None:
        """Feed the arm's guard with this response; an arm that breaks its limits goes to 0."""
        guard = self._guards.get(context.experiment)
        if not context.arm or guard is None:
            return
        guard.record(context.arm, latency_s, error=status >= 500)
        trip = guard.check(context.arm)
        if trip is not None:
            self._trip(context.experiment, trip)

    def _trip(self, name: str, trip: Trip) -> None:
        experiment = self.experiments[name]
        if experiment.arm(trip.arm).weight == 0:
            return
        try:
            self.experiments[name] = experiment.with_weights({trip.arm: 0})
        except ValueError:  # the last arm with traffic: stopping it would stop the app
            logger.error(
                "guardrail: arm %r of %r breaks its limits (%s) but is the last arm with "
                "traffic; it keeps serving", trip.arm, name, "; ".join(trip.reasons),
            )  # fmt: skip
            return
        logger.warning(
            "guardrail: arm %r of experiment %r set to weight 0 on this replica: %s "
            "(%d requests in the window)", trip.arm, name, "; ".join(trip.reasons), trip.requests,
        )  # fmt: skip
        if self._trips is not None:
            for reason in trip.reasons:
                tags = {"experiment": name, "arm": trip.arm, "reason": _reason_label(reason)}
                self._trips.inc(tags=tags)


def _reason_label(reason: str) -> str:
    """A bounded metric label for a Trip's reason ("error rate 0.600 > 0.050" → error_rate)."""
    return "error_rate" if reason.startswith("error rate") else "p95_latency"
