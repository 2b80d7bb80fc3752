"""Prometheus metrics through Ray's metrics export (scraped from every node's metrics agent)."""

from __future__ import annotations

from ray.util.metrics import Counter, Histogram
from starlette.routing import Match

NO_ARM = "none"  # the arm label outside any experiment

_LATENCY_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000]


def endpoint_label(scope: dict) -> str:
    """The matched route's template (``/v1/conversations/{conversation_id}``), never the raw
    path: ids and stray 404 paths would each start a new metric series. A request answered
    before routing (an overload 503) is matched against the app's routes here."""
    route = scope.get("route") or _route_for(scope)
    return getattr(route, "path", None) or "unmatched"


def _route_for(scope: dict) -> object | None:
    routes = getattr(getattr(scope.get("app"), "router", None), "routes", ())
    return next((r for r in routes if r.matches(scope)[0] is not Match.NONE), None)


class ServeMetrics:
    """Created once per replica (Ray metrics must be built inside the worker). Request metrics
    carry the experiment arm that answered (``arm``; "none" outside any experiment)."""

    def __init__(self) -> None:
        self.requests = Counter(
            "ruai_requests", "HTTP requests by endpoint, status and arm",
            tag_keys=("endpoint", "status", "arm"),
        ).set_default_tags({"arm": NO_ARM})  # fmt: skip
        self.latency = Histogram(
            "ruai_request_latency_ms", "HTTP request latency", _LATENCY_MS,
            tag_keys=("endpoint", "arm"),
        ).set_default_tags({"arm": NO_ARM})  # fmt: skip
        self.retrieval_latency = Histogram(
            "ruai_retrieval_latency_ms", "encode + Qdrant query latency", _LATENCY_MS
        )
        self.ttft = Histogram(
            "ruai_time_to_first_token_ms", "time to the first answer token", _LATENCY_MS,
            tag_keys=("generator", "arm"),
        ).set_default_tags({"arm": NO_ARM})  # fmt: skip
        self.tokens = Counter(
            "ruai_tokens", "prompt and completion tokens", tag_keys=("direction", "generator")
        )
        self.errors = Counter(
            "ruai_errors", "errors by kind", tag_keys=("endpoint", "kind", "arm")
        ).set_default_tags({"arm": NO_ARM})
        self.guardrail_trips = Counter(
            "ruai_arm_guardrail_trips", "experiment arms set to weight 0 by a guardrail",
            tag_keys=("experiment", "arm", "reason"),
        )  # fmt: skip

    def observe_request(self, endpoint: str, status: int, ms: float, arm: str = NO_ARM) -> None:
        self.requests.inc(tags={"endpoint": endpoint, "status": str(status), "arm": arm})
        self.latency.observe(ms, tags={"endpoint": endpoint, "arm": arm})
        if status >= 400:
            self.errors.inc(tags={"endpoint": endpoint, "kind": str(status), "arm": arm})

    def observe_tokens(self, generator: str, prompt: int, completion: int) -> None:
        for direction, count in (("in", prompt), ("out", completion)):
            if count > 0:
                self.tokens.inc(count, tags={"direction": direction, "generator": generator})
