"""Dense encoders side by side on paragraph retrieval (SQuAD-format questions -> paragraphs).

Every paragraph of the file is embedded once; each question ranks them by cosine similarity.
Reports recall@1/5/10, MRR@10 and encoding throughput per model, and writes
``benchmarks/results/dense_quality.json`` with a PNG plot beside it.

    python benchmarks/dense_quality.py --model navec --model all-MiniLM-L6-v2
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from ruai.encoders.base import DenseEncoder
from ruai.encoders.navec import NavecEncoder
from ruai.encoders.sentence_transformer import SentenceTransformerEncoder
from ruai.eval.metrics import retrieval_report
from ruai.eval.squad import read_squad
from ruai.text.lemmas import Lemmatizer

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_DATASET = Path(__file__).resolve().parents[2] / "shared/data/xquad-ru/xquad.ru.dev.json"
THROUGHPUT_CHARS = 700


def build(model: str) -> DenseEncoder:
    if model == "navec":
        return NavecEncoder(Lemmatizer())
    return SentenceTransformerEncoder(model)


def evaluate(model: str, dataset_path: Path, top_k: int) -> dict[str, object]:
    dataset = read_squad(dataset_path)
    paragraph_ids = [p.paragraph_id for p in dataset.paragraphs]
    started = time.perf_counter()
    encoder = build(model)
    load_s = time.perf_counter() - started

    started = time.perf_counter()
    passages = encoder.encode_passages([p.context for p in dataset.paragraphs])
    passage_s = time.perf_counter() - started
    started = time.perf_counter()
    queries = encoder.encode_queries([q.question for q in dataset.questions])
    query_s = time.perf_counter() - started

    top = np.argsort(-(queries @ passages.T), axis=1)[:, :top_k]
    ranked = [[paragraph_ids[i] for i in row] for row in top]
    report = retrieval_report(ranked, [q.paragraph_id for q in dataset.questions])

    # Fixed-length passages with a fresh encoder, so a warm lemma cache does not flatter it.
    fixed = [p.context[:THROUGHPUT_CHARS] for p in dataset.paragraphs]
    fresh = build(model)
    started = time.perf_counter()
    fresh.encode_passages(fixed)
    cold_s = time.perf_counter() - started
    started = time.perf_counter()
    fresh.encode_passages(fixed)
    warm_s = time.perf_counter() - started
    return {
        "model": model,
        "dim": encoder.dim,
        "paragraphs": len(paragraph_ids),
        **report,
        "load_s": round(load_s, 2),
        "paragraphs_per_s": round(len(paragraph_ids) / passage_s, 1),
        "queries_per_s": round(len(dataset.questions) / query_s, 1),
        f"passages_{THROUGHPUT_CHARS}_chars_per_s_cold": round(len(fixed) / cold_s, 1),
        f"passages_{THROUGHPUT_CHARS}_chars_per_s_warm": round(len(fixed) / warm_s, 1),
    }


def plot(results: list[dict[str, object]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = ["recall@1", "recall@5", "recall@10", "mrr@10"]
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.8 / len(results)
    for i, result in enumerate(results):
        xs = np.arange(len(metrics)) + i * width
        ax.bar(xs, [float(result[m]) for m in metrics], width, label=str(result["model"]))
    ax.set_xticks(np.arange(len(metrics)) + width * (len(results) - 1) / 2, metrics)
    ax.set_ylim(0, 1)
    ax.set_title("Paragraph retrieval, dense only")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", help="navec, a local path or a cached Hub id")
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--out", type=Path, default=RESULTS / "dense_quality.json")
    args = parser.parse_args()

    results = []
    for model in args.model or ["navec"]:
        results.append(evaluate(model, args.dataset, args.top_k))
        print(json.dumps(results[-1], ensure_ascii=False))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    summary = {"dataset": str(args.dataset), "machine": platform.platform(), "results": results}
    args.out.write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    plot(results, args.out.with_suffix(".png"))
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
