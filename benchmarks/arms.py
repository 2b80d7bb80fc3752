"""What A/B assignment adds to a request on the ingress: µs per request of the arm path
(serve_apps/experiments.py: the request's context, assign, metric label, guardrail record +
check, response header and body fields), experiments off vs on, and with the guardrail window
holding 0 to 30,000 samples (300 s at 100 requests/s). In process, on real Starlette requests:
this code runs on the replica's event loop without awaiting, so its cost per request does not
depend on the concurrency. Writes benchmarks/results/arms.json and arms.png.

    python benchmarks/arms.py [--requests 20000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from ruai.lifecycle.arms_config import ArmsConfig
from serve_apps import experiments
from serve_apps.experiments import Arms
from serve_apps.request_context import request_context

RESULTS = Path(__file__).resolve().parent / "results"
CANARY = {"name": "canary", "arms": [{"name": "stable", "weight": 90},
                                     {"name": "canary", "weight": 10, "top_k": 8}]}  # fmt: skip


def _request(key: str) -> Request:
    headers = [(b"authorization", f"Bearer {key}".encode())]
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers})


def _arms(config: dict, window_samples: int) -> Arms:
    arms = Arms()
    arms.configure(ArmsConfig.model_validate(config))
    for i in range(window_samples):  # a full window of healthy samples on each arm
        request = _request(f"warm-{i}")
        if arms.assign(request, "rag-docs"):
            arms.observe(request_context(request), 200, 0.05)
    return arms


def _per_request_us(arms: Arms, n: int) -> list[float]:
    requests = [_request(f"key-{i}") for i in range(n)]
    responses = [Response() for _ in range(n)]
    timings = []
    for request, response in zip(requests, responses, strict=True):
        started = time.perf_counter_ns()
        context = request_context(request)  # the request's context, as the middleware starts it
        arms.assign(request, "rag-docs")
        experiments.arm_label(context)
        arms.observe(context, 200, 0.05)
        experiments.tag_headers(context, response.headers)
        experiments.body_fields(context)
        timings.append((time.perf_counter_ns() - started) / 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20000)
    args = parser.parse_args()
    cases = {
        "experiments off": ({}, 0),
        "on, no guardrails": ({"experiments": [CANARY], "guardrails": None}, 0),
        "on, window 1k": ({"experiments": [CANARY]}, 1_000),
        "on, window 30k": ({"experiments": [CANARY]}, 30_000),
    }
    results = {}
    for name, (config, window) in cases.items():
        timings = _per_request_us(_arms(config, window), args.requests)
        ordered = sorted(timings)
        results[name] = {
            "p50_us": round(statistics.median(ordered), 2),
            "p99_us": round(ordered[int(0.99 * len(ordered))], 2),
            "mean_us": round(statistics.fmean(ordered), 2),
        }
        print(f"{name:<20} {results[name]}")
    report = {"requests_per_case": args.requests, "target_p50_us": 1000, "results": results}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "arms.json").write_text(json.dumps(report, indent=2) + "\n")
    _plot(results, RESULTS / "arms.png")


def _plot(results: dict[str, dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    names = list(results)
    x = range(len(names))
    ax.bar([i - 0.2 for i in x], [results[n]["p50_us"] for n in names], 0.4, label="p50")
    ax.bar([i + 0.2 for i in x], [results[n]["p99_us"] for n in names], 0.4, label="p99")
    ax.set_xticks(list(x), names)
    ax.set_ylabel("µs per request")
    ax.set_title("A/B arm path on the ingress (in process)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
