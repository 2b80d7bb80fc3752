"""Extractive answers before/after, side by side in one run, per article fold of the dev questions.

The 48 XQuAD-ru articles are indexed in this process (local profile: RUAI_DENSE_MODEL's dense
side, navec by default, + lemma BM25, natasha entities, Qdrant Edge) and every dev question is
retrieved once (``top_k`` passages); the extractive answerer then answers from those passages in
each style:

- ``sentences``: the earliest answers (the 3 best-overlap sentences);
- ``concise``: the hand-weighted best sentence + at most one supporting sentence;
- ``ranked_cv``: the fitted sentence ranker, cross-validated: for each article fold the ranker's
  weights are fitted (``ruai.eval.ranker_fit``) and the support margin and length cap chosen
  (most gold-anywhere with a mean answer <= ``--max-mean-chars``) on the OTHER folds' questions,
  then the fold's own questions are answered: the numbers to quote;
- ``ranked_shipped``: the defaults in ruai/settings.py and ``RANKER_WEIGHTS`` (fitted on all dev
  questions, so in-sample on every fold: shown for reference, not a result).

ruai.eval.answer_eval scores every answer. Writes benchmarks/results/answers.json and
answers.png; the JSON's ``ranker_weights``/``support_choice`` (fitted and chosen on all dev
questions by the same procedure) are what ``RANKER_WEIGHTS`` and the settings ship.

    python benchmarks/answers.py [--folds 5] [--max-mean-chars 300]
    RUAI_DENSE_MODEL=multilingual-e5-small-q4 python benchmarks/answers.py --tag e5
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

from ruai.encoders.factory import build_dense_encoder, build_sparse_encoder
from ruai.eval.answer_eval import Answered, evaluate_answers
from ruai.eval.answer_metrics import AnswerScore, answer_report
from ruai.eval.ranker_fit import fit_ranker, ranking_example
from ruai.eval.sample_corpus import write_sample_corpus
from ruai.eval.squad import Question, article_folds, read_squad
from ruai.ingest.inline_index import index_files
from ruai.llm.extractive import ExtractiveAnswerer, compose
from ruai.llm.passages import Passage, passages_from_hits
from ruai.retrieval import Searcher
from ruai.settings import Settings
from ruai.store.edge import EdgeStore
from ruai.text.lemmas import Lemmatizer

RESULTS = Path(__file__).resolve().parent / "results"
DATASET = Path(__file__).resolve().parents[2] / "shared/data/xquad-ru/xquad.ru.dev.json"
STYLES = ("sentences", "concise", "ranked_cv", "ranked_shipped")
SHOWN = ("gold_in_first", "gold_anywhere", "citation_precision", "f1")
# (support margin, length cap of best + support): the grid the CV chooses from
SUPPORT_GRID = [(m, c) for m in (0.0, 1.0, 2.0, 2.5, 3.0, 4.0) for c in (400, 600, 800)]


def retrieve_all(dataset_path: Path, questions: list[Question]) -> dict[str, list[Passage]]:
    """The passages the local profile retrieves for each question text."""
    with tempfile.TemporaryDirectory() as work:
        write_sample_corpus(dataset_path, Path(work) / "sample")
        files = sorted((Path(work) / "sample" / "articles").glob("*.md"))
        settings = Settings(qdrant_path=Path(work) / "qdrant", collection="answers")
        print(f"indexing with {settings.dense_model}", flush=True)
        lemmatizer = Lemmatizer()
        dense = build_dense_encoder(settings, lemmatizer)
        with EdgeStore(settings.qdrant_path) as store:
            index_files(settings, files, store, dense)
            retriever = Searcher(settings, store, dense, build_sparse_encoder(settings, lemmatizer))
            return {
                q.question: passages_from_hits(
                    retriever.search(q.question, collection="answers", tenant=settings.tenant)
                )
                for q in questions
            }


def answer_all(
    questions: list[Question],
    passages: dict[str, list[Passage]],
    answer: Callable[[str], str],
) -> dict:
    """``evaluate_answers`` with each question's answer from ``answer`` over its passages."""

    def ask(question: str) -> Answered:
        return Answered(answer(question), {p.n: p.text for p in passages[question]})

    return evaluate_answers(questions, ask)


def ranked_answers(
    questions: list[Question],
    passages: dict[str, list[Passage]],
    features: dict[str, tuple],
    answerer: ExtractiveAnswerer,
) -> dict:
    """``answer_all`` for the ranked style from precomputed candidate features (the grid
    re-ranks the same candidates with other weights, margins and caps)."""
    return answer_all(questions, passages, lambda q: compose(answerer.pick(*features[q])))


def fit_and_choose(
    questions: list[Question],
    passages: dict[str, list[Passage]],
    features: dict[str, tuple],
    lemmatizer: Lemmatizer,
    max_mean_chars: float,
) -> tuple[dict[str, float], tuple[float, int]]:
    """Ranker weights fitted on ``questions``, and the (margin, cap) with the most
    gold-anywhere, then gold-in-first, whose mean answer stays within ``max_mean_chars``."""
    examples = [e for q in questions if (e := ranking_example(q.answers, *features[q.question]))]
    weights = fit_ranker(examples)

    def key(choice: tuple[float, int]) -> tuple[bool, float, float]:
        answerer = ExtractiveAnswerer(
            lemmatizer, style="ranked", support_margin=choice[0], max_chars=choice[1],
            weights=weights,
        )  # fmt: skip
        s = ranked_answers(questions, passages, features, answerer)["summary"]
        return s["mean_chars"] <= max_mean_chars, s["gold_anywhere"], s["gold_in_first"]

    return weights, max(SUPPORT_GRID, key=key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, default=DATASET, help="XQuAD-ru dev JSON")
    parser.add_argument("--folds", type=int, default=5, help="article folds to report")
    parser.add_argument("--max-mean-chars", type=float, default=300.0, help="length target")
    parser.add_argument("--tag", default="", help="results as answers_<tag>.json / .png")
    args = parser.parse_args()
    stem = f"answers_{args.tag}" if args.tag else "answers"
    dataset = read_squad(args.dataset)
    questions = dataset.questions
    passages = retrieve_all(args.dataset, questions)
    lemmatizer = Lemmatizer()
    settings = Settings()
    featurer = ExtractiveAnswerer(lemmatizer, style="ranked")
    features = {q.question: featurer.candidate_features(q.question, passages[q.question])
                for q in questions}  # fmt: skip
    fixed = {}
    for style in ("sentences", "concise", "ranked"):
        styled = settings.model_copy(update={"answer_style": style})
        answerer = ExtractiveAnswerer.from_settings(styled, lemmatizer)
        fixed[style] = answer_all(
            questions, passages, lambda q, a=answerer: a.answer(q, passages[q])
        )
    folds = []
    for number, held_out in enumerate(article_folds(dataset, args.folds, seed=0)):
        train = [q for q in questions if q.article_index not in held_out]
        test = [q for q in questions if q.article_index in held_out]
        weights, (margin, cap) = fit_and_choose(
            train, passages, features, lemmatizer, args.max_mean_chars
        )
        answerer = ExtractiveAnswerer(
            lemmatizer, style="ranked", support_margin=margin, max_chars=cap, weights=weights
        )
        ids = {q.id for q in test}
        row: dict = {
            "fold": number,
            "articles": sorted(held_out),
            "questions": len(test),
            "chosen": {"support_margin": margin, "max_chars": cap, "weights": weights},
            "ranked_cv": ranked_answers(test, passages, features, answerer)["summary"],
        }
        for style, name in (("sentences", "sentences"), ("concise", "concise")):
            row[name] = _summary_of(fixed[style], ids)
        row["ranked_shipped"] = _summary_of(fixed["ranked"], ids)
        folds.append(row)
        print(json.dumps({k: row[k] for k in ("fold", "chosen", "ranked_cv")}), flush=True)
    weights, (margin, cap) = fit_and_choose(
        questions, passages, features, lemmatizer, args.max_mean_chars
    )
    spread = {
        style: {
            metric: {
                "mean": statistics.mean(f[style][metric] for f in folds),
                "stdev": statistics.stdev(f[style][metric] for f in folds),
                "per_fold": [round(f[style][metric], 4) for f in folds],
            }
            for metric in (*SHOWN, "mean_chars")
        }
        for style in STYLES
    }
    report = {
        "dataset": args.dataset.name,
        "max_mean_chars": args.max_mean_chars,
        "ranker_weights": weights,
        "support_choice": {"support_margin": margin, "max_chars": cap},
        "pooled_fixed": {style: fixed[style]["summary"] for style in fixed},
        "folds": folds,
        "over_folds": spread,
        "examples": {style: fixed[style]["answers"][:20] for style in fixed},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    plot(report, RESULTS / f"{stem}.png")
    print(json.dumps({k: report[k] for k in ("ranker_weights", "support_choice")}, indent=2))
    print(json.dumps(report["over_folds"], indent=2))


def _summary_of(results: dict, ids: set[str]) -> dict:
    return answer_report(
        [
            AnswerScore(**{f: a[f] for f in AnswerScore.__slots__})
            for a in results["answers"]
            if a["id"] in ids
        ]
    )


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    width = 0.8 / len(STYLES)
    over = report["over_folds"]
    for s, style in enumerate(STYLES):
        xs = [i + (s - (len(STYLES) - 1) / 2) * width for i in range(len(SHOWN))]
        left.bar(xs, [over[style][m]["mean"] for m in SHOWN], width, label=style)
        right.bar(s, over[style]["mean_chars"]["mean"], 0.6, label=style)
    left.set_xticks(range(len(SHOWN)), SHOWN, fontsize=8)
    left.set_ylim(0, 1)
    left.set_title("answer quality, mean over article folds (dev)")
    left.legend(fontsize=7)
    right.set_xticks(range(len(STYLES)), STYLES, fontsize=8)
    right.axhline(report["max_mean_chars"], color="grey", linestyle="--")
    right.set_title("mean answer length, characters")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
