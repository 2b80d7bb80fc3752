"""Serving latency and throughput, side by side in one run, on private local Ray clusters.

1. /v1/search and RAG (/v1/chat/completions, extractive generator) through Serve HTTP, the app
   deployed from serve_apps/configs/local.yaml as `serve deploy` deploys it (the config, built
   inside the cluster): at concurrency 1 with a blocking keep-alive client and with an async
   client (alternating, --repeat times), and at concurrency 8 and 32 with the async client:
   p50/p95/p99 latency and requests/s, each beside the load average; once on a cluster with Ray
   Serve's default data plane and once on one started with cluster_configs/ray-serve.env (HAProxy,
   direct ingress, gRPC between deployments: what scripts/main.sh and the manifests run);
2. the same logic in-process (encoders + the store owner, no Serve, no HTTP) at concurrency 1:
   the difference of the p50s is Serve's overhead;
3. hybrid query latency of Qdrant Edge at 100k chunks (in-process, after optimize).

Writes benchmarks/results/serve.json and serve.png. The machine may be shared: the script asks
for nice -5 (granted to root only) and records os.getloadavg() beside every number.

    python benchmarks/serve.py [--requests 300] [--store-points 100000] [--repeat 3]
        [--modes fast-data-plane owner-calls deployments]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
from store_backends import COLLECTION as STORE_COLLECTION
from store_backends import make_corpus, make_queries, measure_queries

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cluster_configs.toolchain.layout import serve_cluster_env  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
XQUAD = Path(__file__).resolve().parents[2] / "shared/data/xquad-ru/xquad.ru.dev.json"
COLLECTION = "bench_serve"
MODEL = f"rag-{COLLECTION}"
# mode → the app's layout: the local profile as shipped (search and the extractive answerer in
# the ingress), or both in deployments of their own (a process hop more each), each on its
# cluster's data plane; "owner-calls": as shipped, but every search a Ray call to the store
# owner instead of its Unix socket (RUAI_STORE_READ_SOCKET=false)
LAYOUTS = {
    "serve-defaults": "local",
    "fast-data-plane": "local",
    "owner-calls": "local",
    "deployments": "deployments",
}


def percentiles(latencies_s: list[float]) -> dict[str, float]:
    ms = np.asarray(latencies_s) * 1000
    return {f"p{q}_ms": round(float(np.percentile(ms, q)), 2) for q in (50, 95, 99)}


def load_average() -> float:
    """The 1-minute load average: the other work on the machine while a number was taken."""
    return round(os.getloadavg()[0], 1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def load(url: str, bodies: list[dict], concurrency: int) -> dict:
    """Send every body once with ``concurrency`` requests in flight."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    queue = list(reversed(bodies))

    async def worker(client: httpx.AsyncClient) -> None:
        while queue:
            body = queue.pop()
            started = time.perf_counter()
            response = await client.post(url, json=body)
            if response.status_code == 200:
                latencies.append(time.perf_counter() - started)
            else:
                errors[str(response.status_code)] = errors.get(str(response.status_code), 0) + 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return {
        "concurrency": concurrency,
        "requests": len(bodies),
        "ok": len(latencies),
        "errors": errors,
        "throughput_rps": round(len(latencies) / wall, 1),
        **percentiles(latencies),
        "load_average": load_average(),
    }


def sync_load(url: str, bodies: list[dict]) -> dict:
    """Concurrency 1 with a blocking keep-alive client: what a script calling the API one
    question after another sees (no event loop between the client and the socket)."""
    latencies: list[float] = []
    with httpx.Client(timeout=120) as client:
        for body in bodies:
            started = time.perf_counter()
            response = client.post(url, json=body)
            if response.status_code == 200:
                latencies.append(time.perf_counter() - started)
    return {"concurrency": 1, "client": "sync keep-alive", "requests": len(bodies),
            "ok": len(latencies), **percentiles(latencies),
            "load_average": load_average()}  # fmt: skip


def local_profile_config(settings, port: int, layout: str) -> dict:
    """serve_apps/configs/local.yaml (what `serve deploy` deploys) on this store and port;
    layout "deployments": the same with search and the extractive answerer in deployments of
    their own (the GPU profile's layout, and the local profile's before they moved into the
    ingress)."""
    import yaml

    config = yaml.safe_load((REPO / "serve_apps/configs/local.yaml").read_text())
    (application,) = config["applications"]
    application["name"] = "bench"
    args = application["args"]
    args["settings"] |= {"qdrant_path": str(settings.qdrant_path), "collection": COLLECTION}
    if layout == "deployments":
        args["search_in_ingress"] = args["generator_in_ingress"] = False
        args["search"] = {"num_cpus": 0.25} | {
            "autoscaling_config": args["ingress"].pop("autoscaling_config")
        }
        args["generator"] = {"num_cpus": 0.25}
    config["http_options"]["port"] = port
    return config


def serve_deploy(config: dict) -> None:
    """What `serve deploy config.yaml` does, without the dashboard it talks to: the controller
    imports the app and builds it from the config inside the cluster. (The proxy is started at
    its default location: `HeadOnly` from a driver lost its HAProxy manager to the controller
    twice here; on one node it is the same place.)"""
    from ray.serve._private import api
    from ray.serve.schema import ServeDeploySchema

    schema = ServeDeploySchema.model_validate(config)
    client = api.serve_start(http_options=schema.http_options.model_dump())
    client.deploy_apps(schema, _blocking=False)


def in_process(fn: Callable[[str], object], questions: list[str]) -> dict:
    latencies = []
    for question in questions:
        started = time.perf_counter()
        fn(question)
        latencies.append(time.perf_counter() - started)
    return {"concurrency": 1, "requests": len(questions), **percentiles(latencies)}


def store_at_scale(points: int, queries: int) -> dict:
    from ruai.store.edge import EdgeStore

    corpus = make_corpus(points, dim=300, terms=40, vocab=20000, seed=0)
    requests = make_queries(corpus, queries, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        store = EdgeStore(Path(tmp))
        store.ensure_collection(STORE_COLLECTION, 300)
        for i in range(0, len(corpus), 2048):
            store.upsert(STORE_COLLECTION, corpus[i : i + 2048])
        store.optimize(STORE_COLLECTION)
        measured = measure_queries(store, requests)
        store.close()
    return {"points": points, "queries": queries, **measured}


def serve_runs(settings, questions: list[str], port: int, repeat: int, layout: str) -> dict:
    from ray import serve

    serve_deploy(local_profile_config(settings, port, layout))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while _status(f"{base}/healthz") != 200:
        assert time.monotonic() < deadline, "the deployed app never became healthy"
        time.sleep(0.5)
    runs: dict[str, list[dict]] = {"search": [], "rag": [], "c1_repeats": []}
    search = [{"query": q, "top_k": 5} for q in questions]
    rag = [{"model": MODEL, "messages": [{"role": "user", "content": q}]} for q in questions]
    asyncio.run(load(f"{base}/v1/search", search[:20], 4))  # warm up every replica
    for attempt in range(repeat):  # the two clients alternate: the machine's load varies
        runs["c1_repeats"].append({
            "sync": sync_load(f"{base}/v1/search", search),
            "async": asyncio.run(load(f"{base}/v1/search", search, 1)),
        })  # fmt: skip
        print(f"c=1 #{attempt}: {runs['c1_repeats'][-1]}", flush=True)
    best = min(runs["c1_repeats"], key=lambda r: r["sync"]["p50_ms"])
    runs["search_sync_c1"] = best["sync"]
    runs["rag_sync_c1"] = sync_load(f"{base}/v1/chat/completions", rag)
    print(f"sync c=1: search {runs['search_sync_c1']}\n          rag {runs['rag_sync_c1']}")
    for concurrency in (1, 8, 32):
        runs["search"].append(
            best["async"] if concurrency == 1
            else asyncio.run(load(f"{base}/v1/search", search, concurrency))
        )  # fmt: skip
        runs["rag"].append(asyncio.run(load(f"{base}/v1/chat/completions", rag, concurrency)))
        print(f"c={concurrency}: search {runs['search'][-1]}\n      rag {runs['rag'][-1]}")
    deployments = serve.status().applications["bench"].deployments
    runs["replicas_after_c32"] = {
        name: status.replica_states.get("RUNNING", 0) for name, status in deployments.items()
    }
    # last: it runs (and closes) a loop
    runs["hops"] = hop_costs(settings, base, questions, "Search" in deployments)
    print(f"hops: {runs['hops']}", flush=True)
    # the handle's loop is closed: a shutdown that trips on it is left to ray.shutdown()
    with contextlib.suppress(RuntimeError):
        serve.shutdown()
    return runs


def hop_costs(settings, base: str, questions: list[str], search_deployment: bool) -> dict:
    """c=1 p50 of the pieces of a /v1/search: the HTTP path alone (client → HAProxy → ingress
    replica → back: GET /v1/models calls no deployment) and, where there is one, the Search
    deployment called from this driver through its handle (one hop, then encode + the
    store-owner call + the query)."""
    from ray import serve

    with httpx.Client(timeout=120) as client:
        http = in_process(lambda q: client.get(f"{base}/v1/models"), questions)
    http |= {"load_average": load_average()}
    if not search_deployment:
        return {"http_to_ingress": http}

    async def through_handle() -> list[float]:
        # awaited on a loop: with the fast data plane the handle's router runs on the caller's
        # event loop, so a blocking .result() from plain code has none
        handle = serve.get_deployment_handle("Search", "bench")
        latencies = []
        for question in questions[:20] + questions:  # the first 20 find the replicas
            started = time.perf_counter()
            await handle.search.remote(COLLECTION, settings.tenant, question, 5)
            latencies.append(time.perf_counter() - started)
        return latencies[20:]

    latencies = asyncio.run(through_handle())
    search = {"concurrency": 1, "requests": len(questions), **percentiles(latencies),
              "load_average": load_average()}  # fmt: skip
    return {"http_to_ingress": http, "handle_to_search": search}


def _status(url: str) -> int:
    try:
        return httpx.get(url, timeout=60).status_code
    except httpx.TransportError:  # the proxy is not up yet
        return 0


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, name in zip(axes, ("search", "rag"), strict=True):
        colors = ("tab:blue", "tab:green", "tab:orange", "tab:red")
        for mode, color in zip(report["serve"], colors, strict=False):
            runs = report["serve"][mode][name]
            levels = [r["concurrency"] for r in runs]
            rps = ", ".join(str(r["throughput_rps"]) for r in runs)
            for q, style in (("p50_ms", "-"), ("p95_ms", "--")):
                ax.plot(levels, [r[q] for r in runs], marker="o", ls=style, c=color,
                        label=f"{mode} {q[:3]} ({rps} rps)")  # fmt: skip
            sync = report["serve"][mode][f"{name}_sync_c1"]["p50_ms"]
            ax.scatter([1], [sync], marker="x", s=60, c=color, label=f"{mode} sync client p50")
        in_process = next(iter(report["in_process"].values()))[name]["p50_ms"]
        ax.axhline(in_process, ls=":", c="gray", label="in-process p50")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(levels, [str(c) for c in levels])
        ax.set_xlabel("concurrency")
        ax.set_ylabel("latency, ms")
        ax.set_title(f"{name} through Serve HTTP")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def measure_in_process(settings, questions: list[str]) -> dict:
    """The replica's own work in this driver: SearchService.search (the batched encode, the
    cached alias resolution, the store owner's query) and the extractive answer after it."""
    from ruai.llm.extractive import ExtractiveAnswerer
    from ruai.llm.passages import passages_from_hits
    from ruai.text.lemmas import Lemmatizer
    from serve_apps.search import SearchService

    service = SearchService(settings)
    answerer = ExtractiveAnswerer.from_settings(settings, Lemmatizer(settings.lemma_cache_size))
    loop = asyncio.new_event_loop()

    def search(question: str):
        return loop.run_until_complete(service.search(COLLECTION, settings.tenant, question, 5))

    def rag(question: str):
        return answerer.answer(question, passages_from_hits(search(question)))

    in_process(rag, questions[:20])  # warm caches
    measured = {
        "search": in_process(search, questions) | {"load_average": load_average()},
        "rag": in_process(rag, questions) | {"load_average": load_average()},
    }
    loop.close()
    return measured


def measure_mode(args: argparse.Namespace) -> dict:
    """One cluster, started by this process with the environment it was given: ingestion of the
    sample corpus (incremental: a second mode finds it in place), in-process and HTTP runs."""
    import ray

    from pipelines.cluster import use_token_auth
    from pipelines.ingest import run_ingest
    from raystore import release_store, with_absolute_paths
    from ruai.eval.squad import read_squad
    from ruai.settings import Settings

    settings = with_absolute_paths(
        Settings(qdrant_path=args.workdir / "qdrant", collection=COLLECTION)
    )
    questions = [q.question for q in read_squad(args.dataset).questions]
    questions = (questions * (args.requests // len(questions) + 1))[: args.requests]
    use_token_auth()  # the project's token, not ~/.ray
    ray.init(address="local", num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False)
    ingested = run_ingest(settings, str(args.workdir / "sample" / "articles"))
    print(
        f">> store: {ingested.points_total} points ({ingested.documents_unchanged} files unchanged)"
    )
    result = {"in_process": measure_in_process(settings, questions)}
    print(">> in-process", json.dumps(result["in_process"]))
    layout = LAYOUTS[args.mode]
    result["serve"] = serve_runs(settings, questions, free_port(), args.repeat, layout)
    release_store(settings)
    ray.shutdown()
    return result


def run_modes(args: argparse.Namespace, modes: dict[str, dict[str, str]]) -> dict[str, dict]:
    """Each mode in a fresh interpreter: Serve reads its switches once, at import, in every
    process, the driver that builds the application's handles included."""
    from ruai.eval.sample_corpus import write_sample_corpus

    measured = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        write_sample_corpus(args.dataset, workdir / "sample")
        for mode, env in modes.items():
            print(f">> {mode}: a cluster with {env or 'Serve defaults'}", flush=True)
            out = workdir / f"{mode}.json"
            command = [sys.executable, __file__, "--mode", mode, "--workdir", str(workdir),
                       "--dataset", str(args.dataset), "--requests", str(args.requests),
                       "--num-cpus", str(args.num_cpus),
                       "--repeat", str(args.repeat)]  # fmt: skip
            subprocess.run(command, env=os.environ | env, check=True)
            measured[mode] = json.loads(out.read_text())
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=XQUAD)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--store-points", type=int, default=100_000)
    parser.add_argument("--store-queries", type=int, default=300)
    parser.add_argument("--num-cpus", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3, help="c=1 runs of each client")
    parser.add_argument(
        "--modes", nargs="+", choices=list(LAYOUTS),
        default=["serve-defaults", "fast-data-plane", "owner-calls", "deployments"],
    )  # fmt: skip
    parser.add_argument("--mode", help=argparse.SUPPRESS)  # internal: one mode, in a child
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        result = measure_mode(args)
        (args.workdir / f"{args.mode}.json").write_text(json.dumps(result))
        return

    try:
        os.nice(-5)  # a shared machine: ahead of the others' tests, if allowed
        niceness = os.nice(0)
    except PermissionError:
        niceness = os.nice(0)
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "niceness": niceness}
    report: dict = {"machine": machine | {"load_average_at_start": load_average()}}
    print(f">> Qdrant Edge hybrid query at {args.store_points} chunks")
    report["store"] = store_at_scale(args.store_points, args.store_queries)
    print(json.dumps(report["store"], indent=1))
    modes = {
        "serve-defaults": {},
        "fast-data-plane": serve_cluster_env(),
        "owner-calls": serve_cluster_env() | {"RUAI_STORE_READ_SOCKET": "false"},
        "deployments": serve_cluster_env(),
    }
    report["modes"] = {mode: {"env": modes[mode], "layout": LAYOUTS[mode]} for mode in args.modes}
    measured = run_modes(args, {mode: modes[mode] for mode in args.modes})
    report["in_process"] = {mode: m["in_process"] for mode, m in measured.items()}
    report["serve"] = {mode: m["serve"] for mode, m in measured.items()}
    # Serve's overhead: the sync keep-alive client's p50 over the same work in-process
    report["serve_overhead_p50_ms"] = {
        mode: {
            name: round(
                m["serve"][f"{name}_sync_c1"]["p50_ms"] - m["in_process"][name]["p50_ms"], 2
            )
            for name in ("search", "rag")
        }
        for mode, m in measured.items()
    }
    shipped = report["serve"]["fast-data-plane"]
    overhead = report["serve_overhead_p50_ms"]["fast-data-plane"]["search"]
    report["targets"] = {
        "search_p50_c1_sync_ms<=8": shipped["search_sync_c1"]["p50_ms"] <= 8,
        "serve_overhead_p50_ms<=3": overhead <= 3,
        "search_c32_rps>=128": shipped["search"][-1]["throughput_rps"] >= 128,
        "store_hybrid_p50_ms<=5": report["store"]["hybrid"]["p50_ms"] <= 5,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "serve.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    plot(report, RESULTS / "serve.png")
    print(json.dumps({k: report[k] for k in ("serve_overhead_p50_ms", "targets")}, indent=1))
    print(f"written {RESULTS / 'serve.json'} and serve.png")


if __name__ == "__main__":
    main()
