"""Fine-tune a sentence-transformers embedder with Ray Train: a TorchTrainer runs the
MultipleNegativesRankingLoss session (ruai.training) on (question, passage) pairs fed by Ray Data;
each epoch reports loss and validation recall with a checkpoint, and a failed worker group resumes
from the last checkpoint."""

from __future__ import annotations

import os
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import ray
import ray.train
import ray.train.torch

from pipelines.train_run import TrainRunResult, finish_run, fit, run_name, torch_trainer
from ruai.lifecycle.lineage import EMBEDDER, Lineage
from ruai.lifecycle.registry import model_path, pinned
from ruai.settings import Settings
from ruai.training.base_model import resolve_base_embedder
from ruai.training.embedder_loop import run_epochs
from ruai.training.embedder_session import MODEL_DIRNAME, EmbedderSession
from ruai.training.hparams import EmbedderHParams
from ruai.training.pairs import PairSplit, load_pair_split
from ruai.training.passage_chunks import PassageChunker
from ruai.training.recall import PassageRecall


def train_loop(config: dict) -> None:
    """Runs in every Ray Train worker."""
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    hp = EmbedderHParams.from_dict(config["hp"])
    checkpoint = ray.train.get_checkpoint()
    with checkpoint.as_directory() if checkpoint else nullcontext(None) as restore:
        session = EmbedderSession.start_or_resume(
            Path(config["base_model"]),
            Path(restore) if restore else None,
            hp,
            config["steps_per_epoch"],
            device=ray.train.torch.get_device(),
            wrap=_data_parallel if world > 1 else None,
        )
    recall = None
    if rank == 0:
        chunker = PassageChunker.for_model(config["settings"], Path(config["base_model"]))
        recall = PassageRecall(config["validation"], config["corpus"], config["recall_k"], chunker)
    shard = ray.train.get_dataset_shard("train")

    def batches(epoch: int):
        if epoch >= 1:  # the first checkpoint is committed: all workers reported epoch 1
            _fault_drill(config.get("crash_marker"), rank, world)
        return shard.iter_batches(
            batch_size=hp.batch_size,
            batch_format="numpy",
            local_shuffle_buffer_size=4 * hp.batch_size,
            local_shuffle_seed=hp.seed + epoch,
        )

    def report(metrics: dict, checkpoint_dir: Path | None) -> None:
        saved = ray.train.Checkpoint.from_directory(checkpoint_dir) if checkpoint_dir else None
        ray.train.report(metrics, checkpoint=saved)

    run_epochs(session, batches, report, recall, chief=rank == 0)


def _data_parallel(model):
    # the BERT pooler of a mean-pooling model gets no gradient
    return ray.train.torch.prepare_model(
        model, parallel_strategy_kwargs={"find_unused_parameters": True}
    )


def _fault_drill(marker: str | None, rank: int, world: int) -> None:
    """Kill the last worker once, as the second epoch starts, to prove that training resumes
    from the first checkpoint (the marker file records that the drill ran).

    Ray Train commits a checkpoint only once the controller has polled every rank's report, and
    a report still queued in a process that dies is lost: the drill first waits out two polls.
    """
    if marker and rank == world - 1 and not Path(marker).exists():
        poll_s = float(os.environ.get("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "2"))
        time.sleep(2 * poll_s + 1)
        Path(marker).write_text(f"worker {rank} exited after its first report\n")
        os._exit(1)


@dataclass(frozen=True, slots=True)
class EmbedderInputs:
    """What a run starts from, checked before Ray starts anything."""

    base_model: Path
    dataset: Path
    split: PairSplit
    # what the passages were cut with (PassageChunker.for_model); workers cut the same way
    settings: Settings
    # the base model as given (a path, an id or models:/…), for the lineage
    base_ref: str = ""

    def chunker(self) -> PassageChunker:
        return PassageChunker.for_model(self.settings, self.base_model)


def check_inputs(settings: Settings, dataset: Path, base_model: str | None) -> EmbedderInputs:
    """Resolve the base model and read, validate and split the pairs (no Ray involved): a
    missing model or a file without one valid pair fails here with a clear message. Training
    passages are the chunks ingestion would index for this model (the one holding the answer)."""
    base_ref = base_model or settings.dense_model
    base = resolve_base_embedder(model_path(base_ref, settings))
    chunker = PassageChunker.for_model(settings, base)
    split = load_pair_split(
        dataset, settings.train_validation_fraction, settings.train_seed, chunker
    )
    return EmbedderInputs(base, dataset, split, settings, pinned(base_ref, settings))


def train_embedder(
    settings: Settings,
    inputs: EmbedderInputs,
    output: Path,
    *,
    hp_overrides: dict | None = None,
    num_workers: int | None = None,
    use_gpu: bool | None = None,
    hard_negatives: bool = False,
    crash_marker: Path | None = None,
    name: str | None = None,
    register_as: str | None = None,
) -> TrainRunResult:
    """Train on Ray Train, save the final model as a sentence-transformers directory at
    ``output``, log the run to MLflow and (``register_as``) register it as that model's new
    ``challenger``; returns the per-epoch history and where things are."""
    started = time.perf_counter()
    base, dataset, split = inputs.base_model, inputs.dataset, inputs.split
    train_rows, negatives_missing = split.train, None
    if hard_negatives:
        train_rows, negatives_missing = mine_hard_negatives(settings, split)
    hp = EmbedderHParams.from_settings(settings, **(hp_overrides or {}))
    workers = num_workers or settings.train_num_workers
    gpu = settings.train_use_gpu if use_gpu is None else use_gpu
    output = output.expanduser().resolve()
    name = run_name("embedder", name)
    config = {
        "base_model": str(base),
        "hp": hp.to_dict(),
        "steps_per_epoch": hp.steps_per_epoch(len(train_rows), workers),
        "validation": split.validation,
        "corpus": split.corpus,
        "recall_k": settings.train_recall_k,
        "settings": inputs.settings,
        "crash_marker": str(crash_marker) if crash_marker else None,
    }
    trainer = torch_trainer(settings, train_loop, config, train_rows, output, name, workers, gpu)
    result = fit(trainer)
    data = split.report.to_dict() | {
        "train_pairs": len(train_rows),
        "validation_questions": len(split.validation.questions),
        "validation_articles": sorted(split.validation.article_titles.values()),
        "corpus_passages": len(split.corpus.paragraphs),
        "hard_negatives_missing": negatives_missing,
    }
    params = hp.to_dict() | {
        "base_model": str(base),
        "dataset": str(dataset),
        "num_workers": workers,
        "use_gpu": gpu,
        "hard_negatives": hard_negatives,
    }
    lineage = Lineage(
        kind=EMBEDDER,
        base_model=inputs.base_ref,
        dataset=dataset,
        split={
            "by": "article",
            "validation_fraction": settings.train_validation_fraction,
            "seed": settings.train_seed,
            "validation_articles": data["validation_articles"],
            "recall_k": settings.train_recall_k,
        },
        params=params,
    )
    return finish_run(
        settings,
        result.checkpoint,
        MODEL_DIRNAME,
        output,
        name,
        params,
        data,
        started,
        register=(register_as, lineage) if register_as else None,
    )


def mine_hard_negatives(settings: Settings, split: PairSplit) -> tuple[list[dict], int]:
    """For every training question, the best-ranked passage of the current index that is not
    its own (the collection in ``settings``, searched through the store owner)."""
    from raystore import store_for
    from ruai.retrieval import Searcher
    from ruai.training.hard_negatives import with_hard_negatives

    searcher = Searcher.from_settings(settings, store_for(settings))

    def search(question: str) -> list[tuple[str, str]]:
        return [(str(hit.id), hit.payload.get("text", "")) for hit in searcher.search(question)]

    return with_hard_negatives(split.train, search)
