"""The query log's cost on the request path, at concurrency 1, measured in-process.

One "request" is what the ingress adds per answered chat request: two ``note`` calls (question,
model versions; then the hits), ``answered`` (the response id queued for the feedback store) and
the middleware's ``observe`` (the record built and queued). Side by side in one run:

- ``off``: RUAI_QUERY_LOG_ENABLED=false (notes and the answer record only; no log row);
- ``parquet``: the default sink, its thread writing Parquet files while requests go on;
- ``postgres``: rows to PostgreSQL (only with ``--dsn``);
- ``stalled``: the writer hangs on a lock, the queue is full, every row is dropped and counted;
- ``awaited_answer_record_before``: for scale, what the answer path paid before this change, the
  response id written to SQLite before answering (now queued).

Each request is timed alone (``perf_counter_ns``) with ``--gap-ms`` of idle time between requests
(a served request takes tens of ms, during which the writer thread runs). Writes
benchmarks/results/query_log.json and query_log.png.

    python benchmarks/query_log.py [--requests 5000] [--gap-ms 1] [--dsn postgresql://...]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

from starlette.requests import Request

from ruai.conversations import ConversationStore
from ruai.lifecycle.query_log_sink import BatchingSink
from ruai.settings import Settings
from ruai.store.base import Hit
from serve_apps.query_logging import QueryLogging, note

RESULTS = Path(__file__).resolve().parent / "results"
QUESTION = "Когда умер Никола Тесла и где он похоронен?"
HITS = [Hit(f"5f0c{i:04d}-aaaa-bbbb-cccc-000000000000", 0.9 - i / 10, {}) for i in range(5)]


def _request() -> Request:
    path = "/v1/chat/completions"
    return Request({"type": "http", "method": "POST", "path": path, "headers": [],
                    "query_string": b"", "route": SimpleNamespace(path=path)})  # fmt: skip


def _one(logging: QueryLogging, i: int) -> int:
    request = _request()  # built outside the timed part: the ingress has it already
    started = time.perf_counter_ns()
    note(request, tenant="acme", question=QUESTION, collection="ruai", adapter=None,
         llm_model=logging.llm_model)  # fmt: skip
    note(request, hits=HITS)
    logging.answered(request, f"chatcmpl-{i}")
    logging.observe(request, 200, 42.0)
    return time.perf_counter_ns() - started


def _run(name: str, settings: Settings, requests: int, gap_s: float) -> dict:
    store = ConversationStore.from_settings(settings)
    logging = QueryLogging(settings, lambda _settings: store)
    moving = threading.Event()
    if name == "stalled":  # a writer that hangs until the run ends
        logging.sink = BatchingSink(
            lambda batch: moving.wait(), name="stalled", queue_size=100, batch_rows=1
        )
    for i in range(200):  # warm-up: imports, first file, first connection
        _one(logging, -i - 1)
    times_us = []
    for i in range(requests):
        times_us.append(_one(logging, i) / 1000)
        time.sleep(gap_s)
    dropped = dict(logging.sink.dropped) if logging.sink else {}
    moving.set()
    logging.close()
    written = logging.sink.written if logging.sink else 0
    store.close()
    return _summary(times_us) | {"rows_written": written, "rows_dropped": dropped}


def _awaited_answer_record(settings: Settings, requests: int, gap_s: float) -> dict:
    """What the answer path paid before: the response id written to SQLite before answering
    (the old ``await record_response``, here without its thread hop)."""
    store = ConversationStore.from_settings(settings)
    times_us = []
    for i in range(requests):
        started = time.perf_counter_ns()
        store.record_response(f"before-{i}", "acme")
        times_us.append((time.perf_counter_ns() - started) / 1000)
        time.sleep(gap_s)
    store.close()
    return _summary(times_us) | {"rows_written": requests, "rows_dropped": {}}


def _summary(times_us: list[float]) -> dict:
    quantiles = statistics.quantiles(times_us, n=100)
    return {
        "requests": len(times_us),
        "p50_us": round(statistics.median(times_us), 2),
        "p90_us": round(quantiles[89], 2),
        "p99_us": round(quantiles[98], 2),
        "mean_us": round(statistics.fmean(times_us), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--gap-ms", type=float, default=1.0)
    parser.add_argument("--dsn", default=None, help="PostgreSQL DSN: also measure that sink")
    args = parser.parse_args()

    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = {"conversations_path": Path(tmp) / "conversations.sqlite3",
                "query_log_dir": Path(tmp) / "query_log", "query_log_flush_s": 1.0}  # fmt: skip
        configs = {
            "off": Settings(**base, query_log_enabled=False),
            "parquet": Settings(**base),
            "stalled": Settings(**base),
        }
        if args.dsn:
            configs["postgres"] = Settings(**base, query_log_dsn=args.dsn)
        for name, settings in configs.items():
            results[name] = _run(name, settings, args.requests, args.gap_ms / 1000)
            print(f"{name:9s} {results[name]}")
        name = "awaited_answer_record_before"
        results[name] = _awaited_answer_record(configs["off"], args.requests, args.gap_ms / 1000)
        print(f"{name} {results[name]}")
    overhead = round(results["parquet"]["p50_us"] - results["off"]["p50_us"], 2)
    out = {
        "what": "per-request cost of query logging in the ingress, concurrency 1, in-process",
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "gap_ms": args.gap_ms,
        "results": results,
        "parquet_overhead_p50_us": overhead,
        "target_p50_us": 1000,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "query_log.json").write_text(json.dumps(out, indent=1))
    _plot(results)
    print(f"p50 overhead of the Parquet sink: {overhead} µs (target ≤ 1000 µs)")


def _plot(results: dict[str, dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.27
    for k, (label, key) in enumerate((("p50", "p50_us"), ("p90", "p90_us"), ("p99", "p99_us"))):
        xs = [i + (k - 1) * width for i in range(len(names))]
        ax.bar(xs, [results[n][key] for n in names], width, label=label)
    ax.set_xticks(range(len(names)), [n.replace("_before", "\n(before)") for n in names])
    ax.set_yscale("log")
    ax.set_ylabel("µs per request (logging only)")
    ax.set_title("Query logging on the request path, c=1 (target p50 ≤ 1000 µs)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "query_log.png", dpi=120)


if __name__ == "__main__":
    main()
