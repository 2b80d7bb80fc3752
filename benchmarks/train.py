"""Embedder fine-tuning throughput: training pairs/s of the MultipleNegativesRankingLoss step.

    python benchmarks/train.py [--dataset FILE] [--pairs 96] [--batch-size 16]
        Ray Train on this machine's CPUs: 1 and 2 TorchTrainer workers side by side in one run,
        scaling efficiency = pairs/s(2) / (2 * pairs/s(1)). Needs a Ray cluster or starts one.
    python benchmarks/train.py --no-ray [--device cuda] [--model DIR] [--batch-sizes 32,64,128]
        The plain training step (no Ray) on one device, per batch size: what one GPU worker of the
        Ray job runs.

    python benchmarks/train.py --no-ray --quality [--folds 5] [--max-folds N] [--first-fold K]
            [--epochs 4] [--learning-rate 5e-5] [--passages chunks|paragraphs]
        Retrieval quality, not speed: fine-tune on the dev questions of all articles but one fold,
        measure recall@5 of the held-out fold's questions over all 240 paragraphs before and
        after (folds by article, never by question). Passages are the chunks ingestion would
        index for the model (training on the answer's chunk; a paragraph ranks by its best chunk).

Writes benchmarks/results/train_<mode>.json and .png. A measurement script, not a test.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_DATASET = Path(__file__).resolve().parents[2] / "shared/data/xquad-ru/xquad.ru.dev.json"


def training_rows(dataset: Path, pairs: int) -> list[dict[str, str]]:
    from ruai.training.pairs import load_pair_split

    rows = load_pair_split(dataset, 0.2, seed=0).train
    return (rows * (pairs // len(rows) + 1))[:pairs]


def no_ray(args: argparse.Namespace) -> dict:
    """Time EmbedderSession.train_epoch directly: one warm-up epoch, then ``--epochs`` timed."""
    import torch

    from ruai.training.batches import shuffled_batches
    from ruai.training.embedder_session import EmbedderSession
    from ruai.training.hparams import EmbedderHParams

    rows = training_rows(args.dataset, args.pairs)
    runs = []
    for batch_size in args.batch_sizes:
        hp = EmbedderHParams(
            epochs=args.epochs + 1,
            batch_size=batch_size,
            learning_rate=2e-5,
            warmup_ratio=0.0,
            max_seq_length=args.max_seq_length,
            scale=20.0,
            seed=0,
        )
        session = EmbedderSession(args.model, hp, hp.steps_per_epoch(len(rows)), device=args.device)
        session.train_epoch(shuffled_batches(rows, batch_size, seed=0))  # warm-up
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        started, pairs = time.perf_counter(), 0
        for epoch in range(args.epochs):
            pairs += session.train_epoch(shuffled_batches(rows, batch_size, seed=epoch + 1))[
                "pairs"
            ]
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        seconds = time.perf_counter() - started
        run = {"batch_size": batch_size, "pairs": pairs, "seconds": round(seconds, 3)}
        run["pairs_per_s"] = round(pairs / seconds, 1)
        if args.device.startswith("cuda"):
            run["peak_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        print(json.dumps(run), flush=True)
        runs.append(run)
        del session
    device = (
        torch.cuda.get_device_name() if args.device.startswith("cuda") else platform.processor()
    )
    return {"mode": "no-ray", "device": device, "torch": torch.__version__, "runs": runs}


def quality(args: argparse.Namespace) -> dict:
    """K-fold by article: recall of each held-out fold before and after fine-tuning on the rest."""

    import torch

    from ruai.eval.squad import article_folds, read_squad
    from ruai.training.batches import shuffled_batches
    from ruai.training.embedder_loop import run_epochs
    from ruai.training.embedder_session import EmbedderSession
    from ruai.training.hparams import EmbedderHParams
    from ruai.training.pairs import pair_rows
    from ruai.training.recall import PassageRecall
    from ruai.training.rows import RowReport

    dataset = read_squad(args.dataset)
    folds = article_folds(dataset, args.folds, seed=0)
    hp = EmbedderHParams(
        epochs=args.epochs,
        batch_size=args.batch_sizes[0],
        learning_rate=args.learning_rate,
        warmup_ratio=0.1,
        max_seq_length=args.max_seq_length,
        scale=20.0,
        seed=0,
    )
    chunker = None
    if args.passages == "chunks":
        from ruai.settings import Settings
        from ruai.training.passage_chunks import PassageChunker

        chunker = PassageChunker.for_model(Settings(), args.model)
    results = []
    for number, held_out in enumerate(folds[: args.max_folds or None]):
        if number < args.first_fold:
            continue
        train = dataset.subset(set().union(*folds) - held_out)
        rows = pair_rows(train, RowReport("train"), chunker)
        recall = PassageRecall(dataset.subset(held_out), dataset, k=5, chunker=chunker)
        session = EmbedderSession(args.model, hp, hp.steps_per_epoch(len(rows)), device=args.device)
        history: list[dict] = []
        run_epochs(
            session,
            lambda epoch, rows=rows: shuffled_batches(rows, hp.batch_size, seed=epoch),
            lambda metrics, _, history=history: history.append(metrics),
            recall,
        )
        fold = {
            "fold": number,
            "held_out_articles": sorted(dataset.article_titles[i] for i in held_out),
            "train_pairs": len(rows),
            "questions": len(recall.questions),
            "before": {
                k: history[0][f"baseline_{k}"] for k in ("recall_at_1", "recall_at_5", "mrr_at_5")
            },
            "per_epoch": [
                {
                    k: round(m[k], 4)
                    for k in ("epoch", "loss", "recall_at_1", "recall_at_5", "mrr_at_5")
                }
                for m in history
            ],
        }
        print(json.dumps(fold, ensure_ascii=False), flush=True)
        results.append(fold)
        del session
        if args.device.startswith("cuda"):
            torch.cuda.empty_cache()
    questions = sum(f["questions"] for f in results)

    def pooled(pick) -> float:
        return round(sum(pick(f) * f["questions"] for f in results) / questions, 4)

    summary = {"questions": questions}
    for metric in ("recall_at_1", "recall_at_5", "mrr_at_5"):
        summary[f"before_{metric}"] = pooled(lambda f, m=metric: f["before"][m])
        for epoch in range(1, args.epochs + 1):
            summary[f"epoch{epoch}_{metric}"] = pooled(
                lambda f, m=metric, e=epoch: f["per_epoch"][e - 1][m]
            )
    device = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    return {
        "mode": "quality",
        "device": device,
        "passages": args.passages,
        "k_folds": args.folds,
        "hp": hp.to_dict(),
        "folds": results,
        **summary,
    }


def bench_loop(config: dict) -> None:
    """A Ray Train worker: train epochs over its shard, report each epoch's wall time."""
    import ray.train
    import ray.train.torch

    from ruai.training.embedder_session import EmbedderSession
    from ruai.training.hparams import EmbedderHParams

    hp = EmbedderHParams.from_dict(config["hp"])
    world = ray.train.get_context().get_world_size()
    session = EmbedderSession(
        Path(config["model"]),
        hp,
        hp.steps_per_epoch(config["pairs"], world),
        device=ray.train.torch.get_device(),
        wrap=(
            (lambda m: ray.train.torch.prepare_model(
                m, parallel_strategy_kwargs={"find_unused_parameters": True}
            ))
            if world > 1
            else None
        ),
    )  # fmt: skip
    shard = ray.train.get_dataset_shard("train")
    timed_seconds = timed_pairs = 0.0
    for epoch in range(hp.epochs):
        started = time.perf_counter()
        stats = session.train_epoch(
            shard.iter_batches(batch_size=hp.batch_size, batch_format="numpy")
        )
        if epoch >= 1:  # epoch 0 warms up
            timed_seconds += time.perf_counter() - started
            timed_pairs += stats["pairs"]
        ray.train.report({"epoch": epoch, **stats})
    if ray.train.get_context().get_world_rank() == 0:
        # Ray Train 2.60 (V2) keeps no metrics without a checkpoint in its Result: a file it is
        timings = {"timed_seconds": timed_seconds, "timed_pairs": timed_pairs}
        Path(config["timings"]).write_text(json.dumps(timings))


def with_ray(args: argparse.Namespace) -> dict:
    import ray
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    from pipelines.cluster import init_ray
    from ruai.training.hparams import EmbedderHParams

    init_ray()
    rows = training_rows(args.dataset, args.pairs)
    batch_size = args.batch_sizes[0]
    hp = EmbedderHParams(args.epochs + 1, batch_size, 2e-5, 0.0, args.max_seq_length, 20.0, 0)
    runs = []
    args.storage.mkdir(parents=True, exist_ok=True)
    for workers in (1, 2):
        timings = args.storage / f"timings-{workers}w.json"
        trainer = TorchTrainer(
            bench_loop,
            train_loop_config={
                "hp": hp.to_dict(),
                "model": str(args.model),
                "pairs": len(rows),
                "timings": str(timings),
            },
            scaling_config=ScalingConfig(num_workers=workers, resources_per_worker={"CPU": 1}),
            run_config=RunConfig(name=f"bench-{workers}w", storage_path=str(args.storage)),
            datasets={"train": ray.data.from_items(rows)},
        )
        trainer.fit()
        seconds = float(json.loads(timings.read_text())["timed_seconds"])
        run = {"workers": workers, "pairs": len(rows) * args.epochs, "seconds": round(seconds, 2)}
        run["pairs_per_s"] = round(run["pairs"] / seconds, 2)
        print(json.dumps(run), flush=True)
        runs.append(run)
    efficiency = runs[1]["pairs_per_s"] / (2 * runs[0]["pairs_per_s"])
    return {
        "mode": "ray-cpu",
        "device": f"{platform.processor() or platform.machine()} CPU, 1 CPU per worker",
        "batch_size_per_worker": batch_size,
        "runs": runs,
        "scaling_efficiency": round(efficiency, 3),
    }


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if report["mode"] == "quality":
        return plot_quality(report, path)
    key = "workers" if report["mode"] == "ray-cpu" else "batch_size"
    labels = [f"{run[key]} {key.replace('_', ' ')}" for run in report["runs"]]
    values = [run["pairs_per_s"] for run in report["runs"]]
    figure, axes = plt.subplots(figsize=(6, 3.5))
    bars = axes.bar(labels, values, color="#4c72b0")
    axes.bar_label(bars, fmt="%.1f")
    axes.set_ylabel("training pairs / s")
    title = f"MNRL fine-tuning, {report['mode']} ({report['device']})"
    if "scaling_efficiency" in report:
        title += f"\nscaling efficiency {report['scaling_efficiency']:.0%}"
    axes.set_title(title, fontsize="medium")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def plot_quality(report: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    epochs = range(0, report["hp"]["epochs"] + 1)
    figure, axes = plt.subplots(figsize=(6, 3.5))
    for metric in ("recall_at_1", "recall_at_5", "mrr_at_5"):
        values = [report[f"before_{metric}"]]
        values += [report[f"epoch{e}_{metric}"] for e in epochs if e]
        axes.plot(list(epochs), values, marker="o", label=metric)
    axes.set_xlabel("epoch (0 = packaged model)")
    axes.set_ylabel("held-out articles")
    axes.set_title(
        f"MiniLM fine-tuned on XQuAD-ru dev: {len(report['folds'])} of {report['k_folds']} "
        "held-out article folds (pooled)"
    )
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-ray", action="store_true", help="time the plain step on --device")
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--model", type=Path, default=None, help="default: the packaged MiniLM")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--pairs", type=int, default=96, help="training pairs per epoch")
    parser.add_argument("--epochs", type=int, default=1, help="timed epochs (after one warm-up)")
    parser.add_argument("--batch-sizes", default="16", help="comma-separated; Ray mode: first")
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--storage", type=Path, default=Path("/tmp/ruai-bench-train"))
    parser.add_argument("--tag", default=None, help="suffix of the result file names")
    parser.add_argument("--quality", action="store_true", help="recall before/after, k-fold")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--max-folds", type=int, default=0, help="quality: evaluate only the first N folds"
    )
    parser.add_argument(
        "--first-fold", type=int, default=0, help="quality: skip the folds before this one"
    )
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument(
        "--passages",
        choices=("chunks", "paragraphs"),
        default="chunks",
        help="quality: the chunks ingestion indexes (the answer's chunk for training) or whole "
        "paragraphs (cut at --max-seq-length)",
    )
    args = parser.parse_args()
    args.batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    if args.model is None:
        from ruai.encoders.sentence_transformer import packaged_minilm_path

        args.model = packaged_minilm_path()
    mode = quality if args.quality else (no_ray if args.no_ray else with_ray)
    report = mode(args)
    report |= {"model": args.model.name, "max_seq_length": args.max_seq_length}
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = f"train_{report['mode']}" + (f"_{args.tag}" if args.tag else "")
    (RESULTS / f"{stem}.json").write_text(json.dumps(report, indent=2))
    plot(report, RESULTS / f"{stem}.png")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
