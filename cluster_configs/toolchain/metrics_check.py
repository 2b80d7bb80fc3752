"""Dashboards and alert rules query metrics that exist: the application's (``ray_ruai_*``, defined
with ray.util.metrics in serve_apps/ and pipelines/) and vLLM's (``ray_vllm_*`` = ``vllm:*``
through Ray)."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path

from cluster_configs.toolchain.layout import CONFIGS
from cluster_configs.toolchain.problems import Problem

MONITORING = CONFIGS / "monitoring"
_SUFFIXES = re.compile(r"_(total|bucket|sum|count)$")
_QUERIED = re.compile(r"\bray_(ruai|vllm)_([a-z0-9_]+)")
_DEFINED_IN = ("serve_apps", "pipelines")
# Counters Ray exports only after their first increment: an event a plain request does not
# cause (a lost query-log row, a guardrail trip). Tests that cause the event check them on the
# metrics endpoint (tests/integration/test_chat_api.py, test_serve_arms.py).
EVENT_ONLY = frozenset({"ruai_query_log_dropped", "ruai_arm_guardrail_trips"})


def defined_ruai_metrics(repo: Path) -> set[str]:
    names: set[str] = set()
    for folder in _DEFINED_IN:
        for path in (repo / folder).rglob("*.py"):
            names |= set(re.findall(r"\"(ruai_[a-z0-9_]+)\"", path.read_text(encoding="utf-8")))
    return names


def defined_vllm_metrics() -> set[str] | None:
    """vLLM's metric names with ':' made '_' (as Ray exports them); None without vLLM."""
    spec = importlib.util.find_spec("vllm")
    if spec is None or spec.origin is None:
        return None
    loggers = Path(spec.origin).parent / "v1" / "metrics" / "loggers.py"
    names = re.findall(r"\"vllm:([a-z0-9_]+)\"", loggers.read_text(encoding="utf-8"))
    return {f"vllm_{n}" for n in names}


def metric_base(name: str) -> str:
    """``ray_ruai_requests_total`` -> ``ruai_requests``: the name a ray.util.metrics call uses."""
    return _SUFFIXES.sub("", name.removeprefix("ray_"))


def queried_names(repo: Path) -> set[str]:
    """Every ``ray_ruai_*`` / ``ray_vllm_*`` name the dashboards and alert rules query."""
    names: set[str] = set()
    for path in sorted((repo / MONITORING).rglob("*")):
        if path.suffix in {".yaml", ".json"}:
            text = path.read_text(encoding="utf-8")
            names |= {f"ray_{family}_{rest}" for family, rest in _QUERIED.findall(text)}
    return names


def check_metric_names(repo: Path) -> Iterator[Problem]:
    known = {"ruai": defined_ruai_metrics(repo), "vllm": defined_vllm_metrics()}
    for path in sorted((repo / MONITORING).rglob("*")):
        if path.suffix not in {".yaml", ".json"}:
            continue
        text = path.read_text(encoding="utf-8")
        for family, rest in sorted(set(_QUERIED.findall(text))):
            defined = known[family]
            if defined is None:
                continue
            base = f"{family}_{rest}"
            if base not in defined and _SUFFIXES.sub("", base) not in defined:
                yield Problem(
                    str(path.relative_to(repo)),
                    f"queries ray_{base}, but no metric {_SUFFIXES.sub('', base)} is defined "
                    + (
                        "in serve_apps/ or pipelines/"
                        if family == "ruai"
                        else "by the installed vLLM"
                    ),
                )
