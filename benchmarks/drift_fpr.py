"""MMD drift test: false-positive rate on same-distribution splits and power on shifted sets.

The 632 XQuAD-ru dev questions are embedded with navec (the local profile's dense encoder).
For each repetition the 24 articles are split at random into two groups A and B:
- null (fpr): reference and current are two disjoint random samples of all dev questions;
- shift f: reference is a sample of A's questions; current takes a fraction f of its questions
  from B (other subjects) and the rest from A (disjoint from the reference).
Each test is ``ruai.lifecycle.drift.mmd_test`` (RBF, median bandwidth, 200 permutations,
alpha 0.05); the rate of ``drifted`` is reported per sample size. English-vs-Russian is not
measured: the dev set holds no English questions. Writes benchmarks/results/drift_fpr.json and
drift_fpr.png.

    python benchmarks/drift_fpr.py [--splits 100] [--sizes 50 100]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from ruai.encoders.factory import build_dense_encoder
from ruai.eval.squad import read_squad
from ruai.lifecycle.drift import mmd_test
from ruai.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"
DATASET = Path(
    os.environ.get("RUAI_XQUAD_RU")
    or Path(__file__).resolve().parents[2] / "shared/data/xquad-ru/xquad.ru.dev.json"
)
SHIFTS = (1.0, 0.5, 0.25)
ALPHA = 0.05


def _rejection_rates(
    embeddings: np.ndarray, articles: np.ndarray, size: int, splits: int, permutations: int
) -> dict[str, float]:
    rng = np.random.default_rng(size)
    rejected = {"null": 0} | {f"shift_{f}": 0 for f in SHIFTS}
    unique = np.unique(articles)
    for split in range(splits):
        order = rng.permutation(len(embeddings))
        null = mmd_test(
            embeddings[order[:size]],
            embeddings[order[size : 2 * size]],
            alpha=ALPHA,
            permutations=permutations,
            seed=split,
        )
        rejected["null"] += null.drifted
        group_a = rng.choice(unique, size=len(unique) // 2, replace=False)
        in_a = np.isin(articles, group_a)
        a = rng.permutation(np.flatnonzero(in_a))
        b = rng.permutation(np.flatnonzero(~in_a))
        for fraction in SHIFTS:
            from_b = round(size * fraction)
            current = np.concatenate([b[:from_b], a[size : 2 * size - from_b]])
            if len(current) != size or from_b > len(b):
                raise ValueError(f"--sizes {size}: too large for an article group")
            result = mmd_test(
                embeddings[a[:size]],
                embeddings[current],
                alpha=ALPHA,
                permutations=permutations,
                seed=split,
            )
            rejected[f"shift_{fraction}"] += result.drifted
    return {name: count / splits for name, count in rejected.items()}


def _plot(results: dict[str, dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    labels = ["null"] + [f"shift_{f}" for f in SHIFTS]
    width = 0.8 / len(results)
    for i, (size, rates) in enumerate(results.items()):
        xs = np.arange(len(labels)) + i * width
        ax.bar(xs, [rates[label] for label in labels], width, label=f"n = {size} per side")
    ax.axhline(0.10, color="red", linestyle="--", linewidth=1, label="FPR target 10 %")
    ax.set_xticks(np.arange(len(labels)) + width * (len(results) - 1) / 2)
    ax.set_xticklabels(["same distribution"] + [f"{int(f * 100)} % other articles" for f in SHIFTS])
    ax.set_ylabel("share of tests that fired (p < 0.05)")
    ax.set_title("MMD drift test on navec embeddings of XQuAD-ru questions")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--splits", type=int, default=100)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 100])
    parser.add_argument("--permutations", type=int, default=200)
    args = parser.parse_args()

    dataset = read_squad(args.dataset)
    encoder = build_dense_encoder(Settings())
    embeddings = encoder.encode_queries([q.question for q in dataset.questions])
    articles = np.array([q.article_index for q in dataset.questions])
    started = time.perf_counter()
    results = {
        str(size): _rejection_rates(embeddings, articles, size, args.splits, args.permutations)
        for size in args.sizes
    }
    report = {
        "dataset": args.dataset.name,
        "questions": len(dataset.questions),
        "encoder": "navec",
        "alpha": ALPHA,
        "permutations": args.permutations,
        "splits": args.splits,
        "rates_by_sample_size": results,
        "seconds": round(time.perf_counter() - started, 1),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "drift_fpr.json").write_text(json.dumps(report, indent=2) + "\n")
    _plot(results, RESULTS / "drift_fpr.png")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
