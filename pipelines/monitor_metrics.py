"""The monitoring job's results as Prometheus metrics, through Ray's metrics export.

A monitor run is short; a gauge set in its driver would vanish from the node's metrics endpoint
when the driver exits, between two scrapes. So the gauges live in one detached, named actor on
the cluster (``ruai-monitor-metrics``, namespace ``ruai``): every run sends it the new values,
the actor keeps exporting them (Ray's metrics agent on its node, ``metrics-export-port``, which
the PodMonitors / file_sd scrape config already scrape) until the next run replaces them.
Exported as ``ray_<name>``: ``ray_ruai_drift_mmd`` etc.
"""

from __future__ import annotations

import time

import ray

from ruai.lifecycle.monitoring import MonitorReport

ACTOR_NAME, NAMESPACE = "ruai-monitor-metrics", "ruai"
GROUP_TAGS = ("tenant", "collection")
# name, help, tag keys
GAUGES = {
    "drift_mmd": ("ruai_drift_mmd", "MMD^2 of query embeddings, window vs reference", GROUP_TAGS),
    "drift_p_value": (
        "ruai_drift_p_value",
        "p-value of a drift test (test=mmd: query embeddings, test=ks: top-1 scores)",
        (*GROUP_TAGS, "test"),
    ),
    "low_confidence": (
        "ruai_low_confidence_share",
        "share of answers whose top-1 retrieval score is below RUAI_MONITOR_LOW_SCORE",
        GROUP_TAGS,
    ),
    "unknown_words": (
        "ruai_unknown_word_share", "share of question words pymorphy3 does not know", GROUP_TAGS
    ),
    "non_cyrillic": (
        "ruai_non_cyrillic_share", "share of questions without a Cyrillic letter", GROUP_TAGS
    ),
    "drift_detected": (
        "ruai_drift_detected",
        "1 when a signal crossed its RUAI_MONITOR_* threshold in the last run, else 0 "
        "(signal: embedding, score, low_confidence, language)",
        (*GROUP_TAGS, "signal"),
    ),
    "feedback_alert": (
        "ruai_feedback_alert",
        "1 when an arm's negative share crossed RUAI_MONITOR_MAX_NEGATIVE_SHARE, else 0",
        ("arm", "model"),
    ),
    "questions": ("ruai_monitor_questions", "answered questions in the window", GROUP_TAGS),
    "negative": (
        "ruai_feedback_negative_share",
        "share of negative ratings per arm and model version in the window",
        ("arm", "model"),
    ),
    "ratings": (
        "ruai_feedback_ratings", "ratings per arm and model in the window", ("arm", "model")
    ),
    "last_run": (
        "ruai_monitor_last_run_timestamp_seconds", "Unix time the last monitor run finished", ()
    ),
}  # fmt: skip


def gauge_values(report: MonitorReport) -> list[tuple[str, float, dict[str, str]]]:
    """(gauge key, value, tags) for every number of the report worth a series."""
    out: list[tuple[str, float, dict[str, str]]] = []
    for g in report.groups:
        tags = {"tenant": g.tenant, "collection": g.collection}
        out.append(("questions", float(g.questions), tags))
        for key, value in (
            ("drift_mmd", g.mmd2),
            ("low_confidence", g.low_confidence_share),
            ("unknown_words", g.unknown_word_share),
            ("non_cyrillic", g.non_cyrillic_share),
        ):
            if value is not None:
                out.append((key, float(value), tags))
        for signal, crossed in (
            ("embedding", g.embedding_drift),
            ("score", g.score_drift),
            ("low_confidence", g.low_confidence),
            ("language", g.language_drift),
        ):
            out.append(("drift_detected", float(crossed), tags | {"signal": signal}))
        for test, p in (("mmd", g.mmd_p_value), ("ks", g.ks_p_value)):
            if p is not None:
                out.append(("drift_p_value", float(p), tags | {"test": test}))
    for f in report.feedback:
        tags = {"arm": f.arm, "model": f.model}
        out.append(("negative", f.negative_share, tags))
        out.append(("ratings", float(f.ratings), tags))
        out.append(("feedback_alert", float(f.alerting), tags))
    out.append(("last_run", time.time(), {}))
    return out


@ray.remote(num_cpus=0)
class MonitorMetrics:
    """Holds the gauges; Ray metrics must be created inside the process that exports them."""

    def __init__(self) -> None:
        from ray.util.metrics import Gauge

        self.gauges = {
            key: Gauge(name, description, tag_keys=tags)
            for key, (name, description, tags) in GAUGES.items()
        }

    def set(self, values: list[tuple[str, float, dict[str, str]]]) -> int:
        for key, value, tags in values:
            self.gauges[key].set(value, tags=tags or None)
        return len(values)


def publish(report: MonitorReport) -> int:
    """Send the report's values to the cluster's metrics actor (created on first use); returns
    how many series were set."""
    actor = MonitorMetrics.options(
        name=ACTOR_NAME, namespace=NAMESPACE, lifetime="detached", get_if_exists=True
    ).remote()
    return ray.get(actor.set.remote(gauge_values(report)))
