"""Extractive answers before/after, side by side in one run, per article fold of the dev questions.

The 48 XQuAD-ru articles are indexed in this process (local profile: navec + lemma BM25, natasha
entities, Qdrant Edge); the in-process graph (retriever + extractive answerer) answers every dev
question twice, with ``answer_style=sentences`` (the earlier answers: the 3 best-overlap
sentences) and ``concise`` (the default); ruai.eval.answer_eval scores both. Reported per article
fold (the same folds as benchmarks/retrieval_cv.py) and pooled; writes
benchmarks/results/answers.json and answers.png.

    python benchmarks/answers.py [--folds 5] [--max-chars 400]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from ruai.encoders.factory import build_dense_encoder, build_sparse_encoder
from ruai.eval.answer_eval import InProcessRag, evaluate_answers
from ruai.eval.answer_metrics import AnswerScore, answer_report
from ruai.eval.sample_corpus import write_sample_corpus
from ruai.eval.squad import article_folds, read_squad
from ruai.inline_index import index_files
from ruai.llm.extractive import ExtractiveAnswerer
from ruai.retrieval import Searcher
from ruai.settings import Settings
from ruai.store.edge import EdgeStore
from ruai.text.lemmas import Lemmatizer

RESULTS = Path(__file__).resolve().parent / "results"
DATASET = Path(__file__).resolve().parents[2] / "shared/data/xquad-ru/xquad.ru.dev.json"
STYLES = ("sentences", "concise")
SHOWN = ("gold_in_first", "gold_anywhere", "citation_precision", "f1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, default=DATASET, help="XQuAD-ru dev JSON")
    parser.add_argument("--folds", type=int, default=5, help="article folds to report")
    parser.add_argument(
        "--max-chars", type=int, default=Settings().answer_max_chars, help="concise: cap"
    )
    args = parser.parse_args()
    dataset = read_squad(args.dataset)
    results = {}
    with tempfile.TemporaryDirectory() as work:
        write_sample_corpus(args.dataset, Path(work) / "sample")
        files = sorted((Path(work) / "sample" / "articles").glob("*.md"))
        settings = Settings(qdrant_path=Path(work) / "qdrant", collection="answers")
        lemmatizer = Lemmatizer()
        dense = build_dense_encoder(settings, lemmatizer)
        with EdgeStore(settings.qdrant_path) as store:
            index_files(settings, files, store, dense)
            retriever = Searcher(settings, store, dense, build_sparse_encoder(settings, lemmatizer))
            for style in STYLES:
                styled = settings.model_copy(
                    update={"answer_style": style, "answer_max_chars": args.max_chars}
                )
                answerer = ExtractiveAnswerer.from_settings(styled, lemmatizer)
                ask = InProcessRag(retriever, answerer, "answers", settings.tenant)
                results[style] = evaluate_answers(dataset.questions, ask)
                print(style, json.dumps(results[style]["summary"]), flush=True)
    article_of = {q.id: q.article_index for q in dataset.questions}
    folds = []
    for number, held_out in enumerate(article_folds(dataset, args.folds, seed=0)):
        row: dict = {"fold": number, "articles": sorted(held_out)}
        for style in STYLES:
            scores = [
                AnswerScore(**{f: a[f] for f in AnswerScore.__slots__})
                for a in results[style]["answers"]
                if article_of[a["id"]] in held_out
            ]
            row[style] = answer_report(scores)
        folds.append(row)
    spread = {
        style: {
            metric: {
                "mean": statistics.mean(f[style][metric] for f in folds),
                "stdev": statistics.stdev(f[style][metric] for f in folds),
            }
            for metric in (*SHOWN, "mean_chars")
        }
        for style in STYLES
    }
    report = {
        "dataset": args.dataset.name,
        "max_chars": args.max_chars,
        "pooled": {style: results[style]["summary"] for style in STYLES},
        "folds": folds,
        "over_folds": spread,
        "examples": {style: results[style]["answers"][:20] for style in STYLES},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "answers.json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    plot(report, RESULTS / "answers.png")
    print(json.dumps(report["over_folds"], indent=2))


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    width = 0.38
    for s, style in enumerate(STYLES):
        pooled = report["pooled"][style]
        xs = [i + (s - 0.5) * width for i in range(len(SHOWN))]
        left.bar(xs, [pooled[m] for m in SHOWN], width, label=style)
        right.bar(s, pooled["mean_chars"], 0.6, label=style)
    left.set_xticks(range(len(SHOWN)), SHOWN, fontsize=8)
    left.set_ylim(0, 1)
    left.set_title("answer quality (632 dev questions, pooled)")
    left.legend(fontsize=8)
    right.set_xticks(range(len(STYLES)), STYLES)
    right.set_title("mean answer length, characters")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
