"""Side-by-side measurement of the two VectorStore backends on one synthetic corpus.

Upsert throughput, doc_states time, and dense / sparse / hybrid query latency (p50, p95) with
top-1 accuracy, for Qdrant Edge (before and after ``optimize``) and qdrant-client local mode.
Writes ``benchmarks/results/store_backends.json`` and a PNG plot beside it.

    python benchmarks/store_backends.py --points 20000 --dim 300 --queries 200
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ruai.encoders.base import SparseVector
from ruai.store.base import FusionConfig, PointRecord, SearchRequest, VectorStore
from ruai.store.client import QdrantClientStore
from ruai.store.edge import EdgeStore

COLLECTION = "bench"
RESULTS = Path(__file__).resolve().parent / "results"


def make_corpus(n: int, dim: int, terms: int, vocab: int, seed: int) -> list[PointRecord]:
    rng = np.random.default_rng(seed)
    dense = rng.normal(size=(n, dim)).astype(np.float32)
    dense /= np.linalg.norm(dense, axis=1, keepdims=True)
    # Zipf-like term ids so that some terms are common and IDF matters
    popularity = 1.0 / np.arange(1, vocab + 1)
    popularity /= popularity.sum()
    points = []
    for i in range(n):
        ids = np.unique(rng.choice(vocab, size=terms, p=popularity))
        weights = rng.uniform(0.5, 2.5, size=len(ids))
        doc = i // 8
        points.append(
            PointRecord(
                id=str(uuid.UUID(int=i + 1)),
                dense=dense[i].tolist(),
                sparse=SparseVector(ids.tolist(), weights.tolist()),
                payload={
                    "text": f"chunk {i}",
                    "doc_id": f"doc-{doc}",
                    "source": f"file://corpus/{doc}.txt",
                    "content_hash": f"h{doc}",
                    "tenant": "a" if doc % 2 else "b",
                    "chunk_index": i % 8,
                },
            )
        )
    return points


def make_queries(
    points: list[PointRecord], count: int, seed: int
) -> list[tuple[str, SearchRequest]]:
    rng = np.random.default_rng(seed + 1)
    queries = []
    for i in rng.choice(len(points), size=count, replace=False):
        p = points[int(i)]
        noisy = np.asarray(p.dense) + rng.normal(
            scale=0.6 / np.sqrt(len(p.dense)), size=len(p.dense)
        )
        noisy /= np.linalg.norm(noisy)
        keep = rng.choice(len(p.sparse), size=min(5, len(p.sparse)), replace=False)
        sparse = SparseVector([p.sparse.indices[k] for k in sorted(keep)], [1.0] * len(keep))
        queries.append(
            (
                p.id,
                SearchRequest(
                    dense=noisy.tolist(),
                    sparse=sparse,
                    tenant=p.payload["tenant"],
                    limit=10,
                    fusion=FusionConfig(),
                ),
            )
        )
    return queries


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure_queries(store: VectorStore, queries: list[tuple[str, SearchRequest]]) -> dict:
    out = {}
    variants = {
        "dense": lambda r: SearchRequest(dense=r.dense, tenant=r.tenant, limit=r.limit),
        "sparse": lambda r: SearchRequest(sparse=r.sparse, tenant=r.tenant, limit=r.limit),
        "hybrid": lambda r: r,
    }
    for name, variant in variants.items():
        latencies, correct = [], 0
        for expected, request in queries:
            req = variant(request)
            start = time.perf_counter()
            hits = store.search(COLLECTION, req)
            latencies.append(time.perf_counter() - start)
            correct += bool(hits) and hits[0].id == expected
        latencies.sort()
        out[name] = {
            "p50_ms": 1000 * statistics.median(latencies),
            "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))],
            "top1": correct / len(queries),
        }
    return out


def run_backend(
    name: str,
    store: VectorStore,
    points: list[PointRecord],
    queries,
    dim: int,
    batch: int,
    optimize: bool,
) -> dict:
    store.ensure_collection(COLLECTION, dim)
    upsert_s = sum(
        timed(lambda i=i: store.upsert(COLLECTION, points[i : i + batch]))
        for i in range(0, len(points), batch)
    )
    result = {
        "backend": name,
        "upsert_s": upsert_s,
        "upsert_points_per_s": len(points) / upsert_s,
        "count": store.count(COLLECTION),
        "doc_states_s": timed(lambda: store.doc_states(COLLECTION)),
        "queries": measure_queries(store, queries),
    }
    if optimize:
        result["optimize_s"] = timed(lambda: store.optimize(COLLECTION))
        result["queries_after_optimize"] = measure_queries(store, queries)
    return result


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    names = [r["backend"] for r in results]
    left.bar(names, [r["upsert_points_per_s"] for r in results])
    left.set_ylabel("points / s")
    left.set_title("upsert throughput")
    series = []
    for r in results:
        series.append((r["backend"], r["queries"]))
        if "queries_after_optimize" in r:
            series.append((r["backend"] + " (optimized)", r["queries_after_optimize"]))
    width = 0.8 / len(series)
    kinds = ["dense", "sparse", "hybrid"]
    for j, (label, q) in enumerate(series):
        xs = [k + j * width for k in range(len(kinds))]
        right.bar(xs, [q[k]["p50_ms"] for k in kinds], width, label=label)
    right.set_xticks([k + 0.4 - width / 2 for k in range(len(kinds))], kinds)
    right.set_ylabel("p50 latency, ms")
    right.set_yscale("log")
    right.set_title("query latency")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=20_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--terms", type=int, default=30)
    parser.add_argument("--vocab", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS / "store_backends.json")
    args = parser.parse_args()

    points = make_corpus(args.points, args.dim, args.terms, args.vocab, args.seed)
    queries = make_queries(points, args.queries, args.seed)
    results = []
    workdir = Path(tempfile.mkdtemp(prefix="ruai-bench-store-"))
    try:
        backends = {
            "edge": (lambda: EdgeStore(workdir / "edge"), True),
            "client-local": (lambda: QdrantClientStore(path=workdir / "local"), False),
        }
        for name, (opener, optimize) in backends.items():
            store = opener()
            try:
                results.append(
                    run_backend(name, store, points, queries, args.dim, args.batch, optimize)
                )
            finally:
                store.close()
            print(json.dumps(results[-1], indent=1))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    edge, local = results
    ratios = {
        "upsert_edge_over_local": edge["upsert_points_per_s"] / local["upsert_points_per_s"],
        **{
            f"{kind}_p50_local_over_edge": local["queries"][kind]["p50_ms"]
            / edge["queries"][kind]["p50_ms"]
            for kind in ("dense", "sparse", "hybrid")
        },
    }
    print("ratios:", json.dumps(ratios, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "params": {k: v for k, v in vars(args).items() if k != "out"},
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor(),
            "cores": __import__("os").cpu_count(),
        },
        "results": results,
        "ratios": ratios,
    }
    args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    plot(results, args.out.with_suffix(".png"))
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
