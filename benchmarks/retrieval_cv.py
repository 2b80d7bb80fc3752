"""Hybrid vs BM25 at paragraph level, cross-validated over ARTICLE folds of the dev questions.

The 48 XQuAD-ru articles are indexed in this process (Qdrant Edge, the local profile's navec +
lemma BM25) once per BM25 setting of the grid; every dev question runs BM25 alone and linear
fusion at each dense weight of the grid. For each of k article folds, the BM25 setting and the
dense weight are chosen on the other folds' questions (best recall@1, then MRR@10) and scored on
the fold's own questions, next to BM25 alone and the earlier default (k1=1.2, b=0.75, dense
weight 8, which was tuned on all dev questions). Writes benchmarks/results/retrieval_cv.json and
retrieval_cv.png.

    python benchmarks/retrieval_cv.py [--folds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from ruai.encoders.factory import build_dense_encoder, build_sparse_encoder
from ruai.eval.metrics import retrieval_report
from ruai.eval.paragraph_index import ParagraphIndex
from ruai.eval.retrieval_eval import encode_questions, ranked_paragraphs
from ruai.eval.sample_corpus import write_sample_corpus
from ruai.eval.squad import SquadDataset, article_folds, read_squad
from ruai.inline_index import index_files
from ruai.retrieval import Searcher
from ruai.settings import Settings
from ruai.store.base import FusionConfig
from ruai.store.edge import EdgeStore
from ruai.text.lemmas import Lemmatizer

RESULTS = Path(__file__).resolve().parent / "results"
DATASET = Path(__file__).resolve().parents[2] / "shared/data/xquad-ru/xquad.ru.dev.json"
BM25_GRID = [(1.2, 0.75), (1.2, 0.5), (0.9, 0.4), (1.2, 0.3), (0.9, 0.2), (1.5, 0.3)]
DENSE_WEIGHTS = [0.0, 1.0, 2.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0]
EARLIER = ("k1=1.2 b=0.75", 8.0)
# the defaults in ruai/settings.py (chosen on all dev questions, so in-sample on every fold)
SHIPPED = (f"k1={Settings().bm25_k1} b={Settings().bm25_b}", Settings().dense_weight)
KS = (1, 5, 10)
SYSTEMS = (
    "bm25_default",
    "bm25_tuned",
    "bm25_shipped",
    "hybrid_earlier",
    "hybrid_cv",
    "hybrid_shipped",
)


def run_grid(
    dataset_path: Path, dataset: SquadDataset, work: Path
) -> dict[str, dict[float, list[list[str]]]]:
    """Ranked paragraph ids of every question: {bm25 setting: {dense weight: ranked lists}};
    dense weight 0.0 holds BM25 alone (the sparse prefetch only)."""
    write_sample_corpus(dataset_path, work / "sample")
    files = sorted((work / "sample" / "articles").glob("*.md"))
    index = ParagraphIndex(dataset.paragraphs)
    lemmatizer = Lemmatizer()
    ranked: dict[str, dict[float, list[list[str]]]] = {}
    for k1, b in BM25_GRID:
        name = f"k1={k1} b={b}"
        settings = Settings(
            qdrant_path=work / name.replace(" ", "_"),
            collection="cv",
            bm25_k1=k1,
            bm25_b=b,
            extract_entities=False,
        )
        dense = build_dense_encoder(settings, lemmatizer)
        with EdgeStore(settings.qdrant_path) as store:
            index_files(settings, files, store, dense)
            sparse = build_sparse_encoder(settings, lemmatizer)
            retriever = Searcher(settings, store, dense, sparse)
            encoded = encode_questions(retriever, dataset, settings.tenant, chunk_limit=30)
            ranked[name] = {
                weight: ranked_paragraphs(
                    retriever,
                    "cv",
                    encoded,
                    index,
                    "sparse" if weight == 0.0 else "hybrid",
                    FusionConfig(method="linear", dense_weight=weight),
                )
                for weight in DENSE_WEIGHTS
            }
        print(f"{name}: indexed and queried", flush=True)
    return ranked


def report_on(ranked: list[list[str]], gold: list[str], rows: list[int]) -> dict:
    return retrieval_report([ranked[i] for i in rows], [gold[i] for i in rows], KS)


def best_on(ranked: dict, gold: list[str], rows: list[int], hybrid: bool) -> tuple[str, float]:
    """The (BM25 setting, dense weight) with the best recall@1 (then MRR@10) on ``rows``;
    dense weight 0.0 (BM25 alone) unless ``hybrid``."""

    def score(key: tuple[str, float]) -> tuple[float, float]:
        r = report_on(ranked[key[0]][key[1]], gold, rows)
        return r["recall@1"], r["mrr@10"]

    weights = [w for w in DENSE_WEIGHTS if w > 0] if hybrid else [0.0]
    return max(((name, w) for name in ranked for w in weights), key=score)


def cross_validate(dataset: SquadDataset, ranked: dict, k: int) -> list[dict]:
    questions = dataset.questions
    gold = [q.paragraph_id for q in questions]
    folds = []
    for number, held_out in enumerate(article_folds(dataset, k, seed=0)):
        test = [i for i, q in enumerate(questions) if q.article_index in held_out]
        train = [i for i, q in enumerate(questions) if q.article_index not in held_out]

        def on_train(key: tuple[str, float], rows: list[int] = train) -> tuple[float, float]:
            r = report_on(ranked[key[0]][key[1]], gold, rows)
            return r["recall@1"], r["mrr@10"]

        chosen = max(((name, w) for name in ranked for w in DENSE_WEIGHTS if w > 0), key=on_train)
        bm25_chosen = max(((name, 0.0) for name in ranked), key=on_train)
        folds.append(
            {
                "fold": number,
                "articles": sorted(held_out),
                "questions": len(test),
                "chosen": {"bm25": chosen[0], "dense_weight": chosen[1]},
                "bm25_chosen": bm25_chosen[0],
                "bm25_default": report_on(ranked[EARLIER[0]][0.0], gold, test),
                "bm25_tuned": report_on(ranked[bm25_chosen[0]][0.0], gold, test),
                "hybrid_earlier": report_on(ranked[EARLIER[0]][EARLIER[1]], gold, test),
                "hybrid_cv": report_on(ranked[chosen[0]][chosen[1]], gold, test),
                "bm25_shipped": report_on(ranked[SHIPPED[0]][0.0], gold, test),
                "hybrid_shipped": report_on(ranked[SHIPPED[0]][SHIPPED[1]], gold, test),
            }
        )
        print(json.dumps(folds[-1]), flush=True)
    return folds


def summarise(folds: list[dict]) -> dict:
    out = {}
    for system in SYSTEMS:
        for metric in ("recall@1", "mrr@10"):
            values = [f[system][metric] for f in folds]
            out[f"{system} {metric}"] = {
                "mean": statistics.mean(values),
                "stdev": statistics.stdev(values),
                "min": min(values),
                "max": max(values),
            }
    for hybrid, bm25 in (("hybrid_cv", "bm25_tuned"), ("hybrid_shipped", "bm25_shipped")):
        gains = [f[hybrid]["recall@1"] - f[bm25]["recall@1"] for f in folds]
        out[f"{hybrid} - {bm25} recall@1 per fold"] = gains
    return out


def plot(folds: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = SYSTEMS
    fig, ax = plt.subplots(figsize=(10, 4))
    width = 0.8 / len(systems)
    for s, system in enumerate(systems):
        xs = [f["fold"] + (s - (len(systems) - 1) / 2) * width for f in folds]
        ax.bar(xs, [f[system]["recall@1"] for f in folds], width, label=system)
    ax.set_xticks([f["fold"] for f in folds], [f"fold {f['fold']}" for f in folds])
    ax.set_ylim(0.8, 1.0)
    ax.set_ylabel("recall@1 on the fold's own questions")
    ax.set_title("XQuAD-ru dev, article folds: chosen on the other folds, scored on this one")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    dataset = read_squad(args.dataset)
    with tempfile.TemporaryDirectory() as work:
        ranked = run_grid(args.dataset, dataset, Path(work))
    folds = cross_validate(dataset, ranked, args.folds)
    gold = [q.paragraph_id for q in dataset.questions]
    everything = list(range(len(gold)))
    report = {
        "dataset": str(args.dataset.name),
        "questions": len(gold),
        "k_folds": args.folds,
        "bm25_grid": [f"k1={k1} b={b}" for k1, b in BM25_GRID],
        "dense_weights": DENSE_WEIGHTS,
        "all_dev_questions": {
            name: {str(w): report_on(r, gold, everything) for w, r in by_w.items()}
            for name, by_w in ranked.items()
        },
        # the procedure that each fold was scored with, run on all folds: the defaults to ship
        "final_choice": best_on(ranked, gold, everything, hybrid=True),
        "final_bm25_choice": best_on(ranked, gold, everything, hybrid=False),
        "folds": folds,
        "summary": summarise(folds),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "retrieval_cv.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    plot(folds, RESULTS / "retrieval_cv.png")
    print(json.dumps(report["summary"], indent=2))


if __name__ == "__main__":
    main()
