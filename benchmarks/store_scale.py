"""The embedded store (Qdrant Edge) at scale: recall@10 of HNSW against exact search, and latency.

For each data set and size: upsert, ``optimize()`` (builds the HNSW graph with the default
``HnswBuild``: m=16, ef_construct=100), then 200 held-out dense queries, each answered by exact
search (``HnswSearch(exact=True)``, the reference) and by the graph at several search ef values.
Data sets, all 300-d unit vectors made with numpy:

- ``clustered``: 2,000 random centres, each point a centre plus Gaussian noise (cosine ~0.7 to
  its centre), the structure real embeddings have; queries are fresh points of the same law.
- ``navec``: real embeddings, the 250k word vectors of navec (shipped inside natasha, the local
  profile's dense model); queries are held-out words.
- ``uniform``: uniformly random directions, HNSW's pathological case (no structure; every
  point is nearly equidistant from every other), for comparison.

Writes ``benchmarks/results/store_scale.json`` and a PNG plot beside it.

    nice python benchmarks/store_scale.py --datasets clustered navec uniform
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ruai.encoders.base import SparseVector
from ruai.store.base import PointRecord, SearchRequest
from ruai.store.edge import EdgeStore
from ruai.store.hnsw import HnswSearch

COLLECTION = "scale"
RESULTS = Path(__file__).resolve().parent / "results"
K = 10
DIM = 300
EFS = (16, 32, 64, None, 256)  # None: the default, ef_construct (100)
_EMPTY_SPARSE = SparseVector([0], [1.0])


def _normalized(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def clustered(n: int, queries: int, seed: int, centres: int = 2000) -> tuple[np.ndarray, ...]:
    """Points around ``centres`` random directions; noise of norm ~1 gives cosine ~0.7."""
    rng = np.random.default_rng(seed)
    middle = _normalized(rng.normal(size=(centres, DIM)))
    scale = 1.0 / np.sqrt(DIM)

    def draw(rows: int) -> np.ndarray:
        around = middle[rng.integers(centres, size=rows)]
        return _normalized(around + rng.normal(scale=scale, size=(rows, DIM)))

    return draw(n), draw(queries)


def uniform(n: int, queries: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    return _normalized(rng.normal(size=(n, DIM))), _normalized(rng.normal(size=(queries, DIM)))


def navec_words(n: int, queries: int, seed: int) -> tuple[np.ndarray, ...]:
    """navec's word vectors (real embeddings), ``queries`` random words held out."""
    from navec import Navec

    from ruai.encoders.navec import natasha_navec_path

    matrix = Navec.load(str(natasha_navec_path())).pq.unpack()
    matrix = matrix[np.linalg.norm(matrix, axis=1) > 0]
    order = np.random.default_rng(seed).permutation(len(matrix))
    if n + queries > len(matrix):
        raise SystemExit(f"navec has {len(matrix)} non-zero vectors, fewer than {n} + {queries}")
    return _normalized(matrix[order[queries : queries + n]]), _normalized(matrix[order[:queries]])


DATASETS = {"clustered": clustered, "navec": navec_words, "uniform": uniform}


def batches(vectors: np.ndarray, size: int) -> Iterator[list[PointRecord]]:
    for start in range(0, len(vectors), size):
        rows = vectors[start : start + size].tolist()
        yield [
            PointRecord(str(uuid.UUID(int=start + i + 1)), row, _EMPTY_SPARSE, {"tenant": "t"})
            for i, row in enumerate(rows)
        ]


def run_queries(store: EdgeStore, queries: np.ndarray, hnsw: HnswSearch) -> tuple[list, list]:
    found, latencies = [], []
    for query in queries:
        request = SearchRequest(dense=query.tolist(), limit=K, hnsw=hnsw)
        start = time.perf_counter()
        hits = store.search(COLLECTION, request)
        latencies.append(time.perf_counter() - start)
        found.append([h.id for h in hits])
    return found, latencies


def latency(latencies: list[float]) -> dict:
    ordered = sorted(latencies)
    return {
        "p50_ms": 1000 * statistics.median(ordered),
        "p95_ms": 1000 * ordered[int(0.95 * (len(ordered) - 1))],
    }


def recall(found: list[list[str]], truth: list[list[str]]) -> float:
    return sum(len(set(f) & set(t)) for f, t in zip(found, truth, strict=True)) / (K * len(truth))


def numpy_top_k(vectors: np.ndarray, queries: np.ndarray) -> np.ndarray:
    scores = queries @ vectors.T
    top = np.argpartition(-scores, K, axis=1)[:, :K]
    order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
    return np.take_along_axis(top, order, axis=1)


def directory_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def measure(name: str, vectors: np.ndarray, queries: np.ndarray, workdir: Path) -> dict:
    n = len(vectors)
    root = workdir / f"{name}-{n}"
    with EdgeStore(root) as store:
        store.ensure_collection(COLLECTION, DIM)
        start = time.perf_counter()
        for batch in batches(vectors, 4096):
            store.upsert(COLLECTION, batch)
        upsert_s = time.perf_counter() - start
        start = time.perf_counter()
        store.optimize(COLLECTION)
        optimize_s = time.perf_counter() - start
        shard = root / COLLECTION
        segment_bytes = directory_bytes(shard / "segments")
        other_bytes = directory_bytes(shard) - segment_bytes  # WAL (preallocated), config

        truth, exact_latencies = run_queries(store, queries, HnswSearch(exact=True))
        # the store's exact search against numpy's: the reference must itself be right
        ids = np.array([str(uuid.UUID(int=i + 1)) for i in range(n)])
        numpy_truth = [ids[row].tolist() for row in numpy_top_k(vectors, queries)]
        result = {
            "dataset": name,
            "points": n,
            "upsert_points_per_s": n / upsert_s,
            "optimize_s": optimize_s,
            "segment_bytes_per_point": segment_bytes / n,
            "wal_and_other_mb": other_bytes / 2**20,
            "exact": latency(exact_latencies) | {"recall_vs_numpy": recall(truth, numpy_truth)},
            "hnsw": [],
        }
        for ef in EFS:
            found, latencies = run_queries(store, queries, HnswSearch(ef=ef))
            row = {"ef": ef or "default (100)", "recall@10": recall(found, truth)}
            top1 = sum(f[:1] == t[:1] for f, t in zip(found, truth, strict=True))
            result["hnsw"].append(row | {"top1": top1 / len(truth)} | latency(latencies))
    shutil.rmtree(root, ignore_errors=True)
    return result


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for r in results:
        label = f"{r['dataset']} {r['points'] // 1000}k"
        efs = [x["ef"] if isinstance(x["ef"], int) else 100 for x in r["hnsw"]]
        left.plot(efs, [x["recall@10"] for x in r["hnsw"]], "o-", label=label)
    left.set_xscale("log", base=2)
    left.set_xlabel("search ef (100: the default, ef_construct)")
    left.set_ylabel("recall@10 vs exact search")
    left.set_title("Qdrant Edge after optimize(), m=16, ef_construct=100")
    left.legend(fontsize=8)
    labels = [f"{r['dataset']}\n{r['points'] // 1000}k" for r in results]
    xs = np.arange(len(results))
    default = [next(x for x in r["hnsw"] if isinstance(x["ef"], str)) for r in results]
    right.bar(xs - 0.2, [d["p50_ms"] for d in default], 0.4, label="HNSW, default ef")
    right.bar(xs + 0.2, [r["exact"]["p50_ms"] for r in results], 0.4, label="exact search")
    right.set_xticks(xs, labels, fontsize=8)
    right.set_yscale("log")
    right.set_ylabel("p50 latency, ms")
    right.set_title("dense top-10 query")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000])
    parser.add_argument("--datasets", nargs="+", choices=sorted(DATASETS), default=list(DATASETS))
    parser.add_argument("--navec-sizes", type=int, nargs="+", default=[100_000, 240_000])
    parser.add_argument("--uniform-sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS / "store_scale.json")
    args = parser.parse_args()

    results = []
    workdir = Path(tempfile.mkdtemp(prefix="ruai-bench-scale-"))
    try:
        for name, n in plan(args):
            vectors, queries = DATASETS[name](n, args.queries, args.seed)
            results.append(measure(name, vectors, queries, workdir))
            del vectors
            print(json.dumps(results[-1]), flush=True)
            write_report(args, results)  # after each size: a long run keeps what it has
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")


def plan(args: argparse.Namespace) -> list[tuple[str, int]]:
    """(data set, size) by ascending size, so that a run cut short has every small one."""
    sizes = {"uniform": args.uniform_sizes, "navec": args.navec_sizes}
    runs = [(name, n) for name in args.datasets for n in sizes.get(name, args.sizes)]
    return sorted(runs, key=lambda run: run[1])


def write_report(args: argparse.Namespace, results: list[dict]) -> None:
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "params": {k: v for k, v in vars(args).items() if k != "out"} | {"k": K, "dim": DIM},
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor(),
            "cores": os.cpu_count(),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        },
        "results": results,
    }
    args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    plot(results, args.out.with_suffix(".png"))


if __name__ == "__main__":
    main()
