"""Hybrid vs BM25 at paragraph level, cross-validated over ARTICLE folds of the dev questions.

The 48 XQuAD-ru articles are indexed in this process (Qdrant Edge, the local profile's navec +
lemma BM25) once per BM25 setting of the grid; every dev question runs BM25 alone and linear
fusion at each dense weight of the grid. For each of k article folds, the BM25 setting and the
dense weight are chosen on the other folds' questions (best recall@1, then MRR@10) and scored on
the fold's own questions, next to BM25 alone and the earlier default (k1=1.2, b=0.75, dense
weight 8, which was tuned on all dev questions).

On the shipped BM25 setting's index it also reads every (question, chunk) BM25 score and fuses
in numpy (``ruai.eval.score_fusion``) two dense sides that change per fold: navec with a query
projection fitted on the training folds (``ruai.eval.projection_fit``; its weight chosen by an
inner cross-validation), and navec with the passages' top principal components removed (count
and weight chosen on the training folds). Writes benchmarks/results/retrieval_cv.json and
retrieval_cv.png.

    python benchmarks/retrieval_cv.py --dataset ../shared/data/xquad-ru/xquad.ru.dev.json \
        [--folds 5] [--projected-only] [--save-projection W.npy]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ruai.encoders.base import DenseEncoder
from ruai.encoders.factory import build_dense_encoder, build_sparse_encoder
from ruai.encoders.projected import project_queries
from ruai.eval.metrics import retrieval_report
from ruai.eval.paragraph_index import ParagraphIndex
from ruai.eval.projection_fit import fit_query_projection
from ruai.eval.retrieval_eval import EncodedQuestions, encode_questions, ranked_paragraphs
from ruai.eval.sample_corpus import write_sample_corpus
from ruai.eval.score_fusion import linear_fusion, paragraph_rankings, without_components
from ruai.eval.squad import SquadDataset, article_folds, read_squad
from ruai.ingest.inline_index import index_files
from ruai.retrieval import Searcher, fusion_from
from ruai.settings import Settings
from ruai.store.base import FusionConfig, SearchRequest
from ruai.store.edge import EdgeStore
from ruai.text.lemmas import Lemmatizer

RESULTS = Path(__file__).resolve().parent / "results"
DATASET = Path(__file__).resolve().parents[2] / "shared/data/xquad-ru/xquad.ru.dev.json"
BM25_GRID = [(1.2, 0.75), (1.2, 0.5), (0.9, 0.4), (1.2, 0.3), (0.9, 0.2), (1.5, 0.3)]
DENSE_WEIGHTS = [0.0, 1.0, 2.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0]
EARLIER = ("k1=1.2 b=0.75", 8.0)
# the defaults in ruai/settings.py (chosen on all dev questions, so in-sample on every fold)
SHIPPED = (f"k1={Settings().bm25_k1} b={Settings().bm25_b}", fusion_from(Settings()).dense_weight)
KS = (1, 5, 10)
SYSTEMS = (
    "bm25_default",
    "bm25_tuned",
    "bm25_shipped",
    "hybrid_earlier",
    "hybrid_cv",
    "hybrid_shipped",
    "hybrid_weight_cv",
)


class MemoDense:
    """A dense encoder that remembers every text it encoded (e5 costs ~0.3 s a passage here)."""

    def __init__(self, encoder: DenseEncoder) -> None:
        self.encoder = encoder
        self.name, self.dim, self.max_tokens = encoder.name, encoder.dim, encoder.max_tokens
        self.count_tokens = encoder.count_tokens
        self._memo: dict[tuple[bool, str], np.ndarray] = {}

    def _encode(self, texts: list[str], query: bool) -> np.ndarray:
        new = list(dict.fromkeys(t for t in texts if (query, t) not in self._memo))
        if new:
            fresh = self.encoder.encode_queries(new) if query else self.encoder.encode_passages(new)
            self._memo.update(zip(((query, t) for t in new), fresh, strict=True))
        return np.asarray([self._memo[query, t] for t in texts], dtype=np.float32).reshape(
            len(texts), self.dim
        )

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, False)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, True)


@dataclass
class ChunkMatrices:
    """Every (question, chunk) of one index: what the projected dense side is fused from."""

    queries: np.ndarray  # (questions, dim) base query vectors
    passages: np.ndarray  # (chunks, dim) the indexed dense vectors
    sparse: np.ndarray  # (questions, chunks) the engine's BM25 scores (0 where no term matches)
    chunk_paragraphs: list[str | None]


def chunk_matrices(
    store: EdgeStore, collection: str, encoded: EncodedQuestions, index: ParagraphIndex
) -> ChunkMatrices:
    points, offset = store.scroll_points(collection, limit=10_000)
    if offset is not None:
        raise ValueError("the benchmark collection should fit one scroll page")
    column = {point.id: j for j, point in enumerate(points)}
    sparse = np.zeros((len(encoded.vectors), len(points)), dtype=np.float32)
    for i, vectors in enumerate(encoded.vectors):
        request = SearchRequest(
            dense=None, sparse=vectors.sparse, tenant=encoded.tenant, limit=len(points)
        )
        for hit in store.search(collection, request):
            sparse[i, column[hit.id]] = hit.score
    return ChunkMatrices(
        np.asarray([v.dense for v in encoded.vectors], dtype=np.float32),
        np.asarray([point.dense for point in points], dtype=np.float32),
        sparse,
        [index.paragraph_of(point.payload.get("text", "")) for point in points],
    )


def run_grid(
    dataset_path: Path, dataset: SquadDataset, work: Path, grid: list[tuple[float, float]]
) -> tuple[dict[str, dict[float, list[list[str]]]], ChunkMatrices]:
    """Ranked paragraph ids of every question: {bm25 setting: {dense weight: ranked lists}};
    dense weight 0.0 holds BM25 alone (the sparse prefetch only). Also every (question, chunk)
    score of the shipped BM25 setting's index."""
    write_sample_corpus(dataset_path, work / "sample")
    files = sorted((work / "sample" / "articles").glob("*.md"))
    index = ParagraphIndex(dataset.paragraphs)
    lemmatizer = Lemmatizer()
    # the dense side does not depend on BM25's setting: encode each text once for the grid
    dense = MemoDense(build_dense_encoder(Settings(), lemmatizer))
    ranked: dict[str, dict[float, list[list[str]]]] = {}
    matrices = None
    for k1, b in grid:
        name = f"k1={k1} b={b}"
        settings = Settings(
            qdrant_path=work / name.replace(" ", "_"),
            collection="cv",
            bm25_k1=k1,
            bm25_b=b,
            extract_entities=False,
        )
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
            if name == SHIPPED[0]:
                matrices = chunk_matrices(store, "cv", encoded, index)
        print(f"{name}: indexed and queried", flush=True)
    if matrices is None:
        raise ValueError(f"the BM25 grid must hold the shipped setting {SHIPPED[0]}")
    return ranked, matrices


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
        # the shipped BM25 setting, only the dense weight chosen on the other folds
        weight_chosen = max(((SHIPPED[0], w) for w in DENSE_WEIGHTS if w > 0), key=on_train)
        folds.append(
            {
                "fold": number,
                "articles": sorted(held_out),
                "questions": len(test),
                "chosen": {"bm25": chosen[0], "dense_weight": chosen[1]},
                "weight_chosen": weight_chosen[1],
                "bm25_chosen": bm25_chosen[0],
                "bm25_default": report_on(ranked[EARLIER[0]][0.0], gold, test),
                "bm25_tuned": report_on(ranked[bm25_chosen[0]][0.0], gold, test),
                "hybrid_earlier": report_on(ranked[EARLIER[0]][EARLIER[1]], gold, test),
                "hybrid_cv": report_on(ranked[chosen[0]][chosen[1]], gold, test),
                "bm25_shipped": report_on(ranked[SHIPPED[0]][0.0], gold, test),
                "hybrid_shipped": report_on(ranked[SHIPPED[0]][SHIPPED[1]], gold, test),
                "hybrid_weight_cv": report_on(ranked[SHIPPED[0]][weight_chosen[1]], gold, test),
            }
        )
        print(json.dumps(folds[-1]), flush=True)
    return folds


PROJECTED_WEIGHTS = [1.0, 2.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0]
PROJECTED_SYSTEMS = (
    "bm25_all_chunks",
    "hybrid_all_chunks",
    "hybrid_projected",
    "hybrid_components_removed",
)
COMPONENTS = [0, 1, 2, 3, 5, 8, 10]


class ProjectedFolds:
    """The shipped BM25 index fused over all chunks with navec as indexed, or with a query
    projection fitted on training questions only (``ruai.eval.projection_fit``)."""

    def __init__(self, dataset: SquadDataset, matrices: ChunkMatrices) -> None:
        self.m = matrices
        self.gold = [q.paragraph_id for q in dataset.questions]
        self.article = np.asarray([q.article_index for q in dataset.questions])
        article_of = {p.paragraph_id: p.article_index for p in dataset.paragraphs}
        self.chunk_article = np.asarray(
            [-1 if pid is None else article_of[pid] for pid in matrices.chunk_paragraphs]
        )
        self.positives = (
            np.asarray(self.gold)[:, None]
            == np.asarray([pid or "" for pid in matrices.chunk_paragraphs])[None, :]
        )

    def fit(self, rows: list[int]) -> np.ndarray:
        """W from the questions ``rows`` against the chunks of their articles only."""
        columns = np.isin(self.chunk_article, self.article[rows])
        rows = [i for i in rows if self.positives[i, columns].any()]
        return fit_query_projection(
            self.m.queries[rows], self.m.passages[columns], self.positives[rows][:, columns]
        )

    def ranked(
        self, rows: list[int], weight: float, projection: np.ndarray | None, components: int = 0
    ) -> list[list[str]]:
        queries, passages = without_components(self.m.queries, self.m.passages, components)
        queries = queries[rows]
        if projection is not None:
            queries = project_queries(queries, projection)
        scores = linear_fusion(queries, passages, self.m.sparse[rows], weight)
        return paragraph_rankings(scores, self.m.chunk_paragraphs)

    def report(
        self, rows: list[int], weight: float, projection: np.ndarray | None, components: int = 0
    ) -> dict:
        ranked = self.ranked(rows, weight, projection, components)
        return retrieval_report(ranked, [self.gold[i] for i in rows], KS)

    def choose_components(self, rows: list[int]) -> tuple[int, float]:
        """(principal components removed, dense weight) best on ``rows`` (recall@1, MRR@10)."""

        def score(key: tuple[int, float]) -> tuple[float, float]:
            r = self.report(rows, key[1], None, key[0])
            return r["recall@1"], r["mrr@10"]

        return max(((n, w) for n in COMPONENTS for w in DENSE_WEIGHTS[1:]), key=score)

    def choose_weight(self, folds: list[list[int]], weights: list[float], project: bool) -> float:
        """The weight with the best recall@1 (then MRR@10) pooled over ``folds``, each scored
        with a projection fitted on the other folds (none when not ``project``)."""
        pooled: dict[float, list[list[str]]] = {w: [] for w in weights}
        gold: list[str] = []
        for f, rows in enumerate(folds):
            others = [i for g, fold in enumerate(folds) if g != f for i in fold]
            projection = self.fit(others) if project else None
            gold += [self.gold[i] for i in rows]
            for w in weights:
                pooled[w] += self.ranked(rows, w, projection)

        def score(w: float) -> tuple[float, float]:
            r = retrieval_report(pooled[w], gold, KS)
            return r["recall@1"], r["mrr@10"]

        return max(weights, key=score)


def cross_validate_projected(dataset: SquadDataset, matrices: ChunkMatrices, k: int) -> list[dict]:
    sim = ProjectedFolds(dataset, matrices)
    questions = dataset.questions
    fold_rows = [
        [i for i, q in enumerate(questions) if q.article_index in held_out]
        for held_out in article_folds(dataset, k, seed=0)
    ]
    out = []
    for number, test in enumerate(fold_rows):
        inner = [rows for f, rows in enumerate(fold_rows) if f != number]
        train = [i for rows in inner for i in rows]
        navec_weight = sim.choose_weight([train], DENSE_WEIGHTS[1:], project=False)
        projected_weight = sim.choose_weight(inner, PROJECTED_WEIGHTS, project=True)
        components, components_weight = sim.choose_components(train)
        out.append(
            {
                "fold": number,
                "navec_weight": navec_weight,
                "projected_weight": projected_weight,
                "bm25_all_chunks": sim.report(test, 0.0, None),
                "hybrid_all_chunks": sim.report(test, navec_weight, None),
                "hybrid_projected": sim.report(test, projected_weight, sim.fit(train)),
                "components_removed": components,
                "components_weight": components_weight,
                "hybrid_components_removed": sim.report(test, components_weight, None, components),
            }
        )
        print(json.dumps(out[-1]), flush=True)
    return out


PAIRS = [
    ("hybrid_cv", "bm25_tuned"),
    ("hybrid_shipped", "bm25_shipped"),
    ("hybrid_weight_cv", "bm25_shipped"),
]


def summarise(folds: list[dict], systems, pairs) -> dict:
    out = {}
    for system in systems:
        for metric in ("recall@1", "mrr@10"):
            values = [f[system][metric] for f in folds]
            out[f"{system} {metric}"] = {
                "mean": statistics.mean(values),
                "stdev": statistics.stdev(values),
                "min": min(values),
                "max": max(values),
            }
    for hybrid, bm25 in pairs:
        gains = [f[hybrid]["recall@1"] - f[bm25]["recall@1"] for f in folds]
        out[f"{hybrid} - {bm25} recall@1 per fold"] = gains
    return out


def plot(folds: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = [*SYSTEMS, "hybrid_projected", "hybrid_components_removed"]
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
    parser.add_argument(
        "--projected-only",
        action="store_true",
        help="index the shipped BM25 setting only and cross-validate the projected dense side",
    )
    parser.add_argument(
        "--save-projection",
        type=Path,
        help="also fit the query projection on all dev questions and save it (.npy) for "
        "RUAI_DENSE_MODEL=navec-projected:<path>",
    )
    parser.add_argument(
        "--weight-scale",
        type=float,
        default=1.0,
        help="add the dense-weight grids times this (e5's cosines spread less than navec's: ~25)",
    )
    parser.add_argument("--tag", default="", help="results as retrieval_cv_<tag>.json / .png")
    args = parser.parse_args()
    global DENSE_WEIGHTS, PROJECTED_WEIGHTS
    DENSE_WEIGHTS = sorted({*DENSE_WEIGHTS, *(w * args.weight_scale for w in DENSE_WEIGHTS)})
    PROJECTED_WEIGHTS = sorted(
        {*PROJECTED_WEIGHTS, *(w * args.weight_scale for w in PROJECTED_WEIGHTS)}
    )
    stem = f"retrieval_cv_{args.tag}" if args.tag else "retrieval_cv"
    dataset = read_squad(args.dataset)
    grid = [(Settings().bm25_k1, Settings().bm25_b)] if args.projected_only else BM25_GRID
    with tempfile.TemporaryDirectory() as work:
        ranked, matrices = run_grid(args.dataset, dataset, Path(work), grid)
    projected = cross_validate_projected(dataset, matrices, args.folds)
    if args.save_projection:
        everything = list(range(len(dataset.questions)))
        np.save(args.save_projection, ProjectedFolds(dataset, matrices).fit(everything))
    projected_summary = summarise(
        projected,
        PROJECTED_SYSTEMS,
        [
            ("hybrid_projected", "bm25_all_chunks"),
            ("hybrid_all_chunks", "bm25_all_chunks"),
            ("hybrid_components_removed", "bm25_all_chunks"),
        ],
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.projected_only:
        report = {"projected_folds": projected, "projected_summary": projected_summary}
        (RESULTS / f"{stem}_projected.json").write_text(json.dumps(report, indent=2))
        print(json.dumps(projected_summary, indent=2))
        return
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
        "summary": summarise(folds, SYSTEMS, PAIRS),
        "projected_folds": projected,
        "projected_summary": projected_summary,
    }
    (RESULTS / f"{stem}.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    for f, extra in zip(folds, projected, strict=True):
        for system in ("hybrid_projected", "hybrid_components_removed"):
            f[system] = extra[system]
    plot(folds, RESULTS / f"{stem}.png")
    print(json.dumps(report["summary"], indent=2))
    print(json.dumps(projected_summary, indent=2))


if __name__ == "__main__":
    main()
