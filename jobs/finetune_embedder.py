"""Fine-tune the dense embedder on (question, passage) pairs with Ray Train.

    python -m jobs.finetune_embedder --dataset xquad.ru.dev.json --output models/minilm-ru \\
        [--base-model all-MiniLM-L6-v2] [--epochs 3] [--num-workers 2] [--use-gpu]
    ray job submit --working-dir . -- \\
        python -m jobs.finetune_embedder --dataset /abs/data.json --output /abs/model

The data (SQuAD v1.1 JSON or question/context JSONL) is split by article; each epoch reports the
loss and validation recall@k, checkpoints, and the final model is a sentence-transformers
directory: RUAI_DENSE_MODEL=<output> makes ingestion and serving use it. The run is registered as
the new `challenger` of --register-as in the model registry (docs/lifecycle.md); after
`jobs.promote`, RUAI_DENSE_MODEL=models:/ruai-embedder@champion names it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from jobs.cli import fail
from ruai.settings import get_settings

app = typer.Typer(add_completion=False, help=__doc__)
console = Console(stderr=True)


@app.command()
def main(
    dataset: Path = typer.Option(..., help="SQuAD v1.1 JSON or question/context JSONL"),
    output: Path = typer.Option(..., help="Directory for the fine-tuned model"),
    base_model: str = typer.Option(
        None, help="Model directory or id to start from (default: RUAI_DENSE_MODEL)"
    ),
    epochs: int = typer.Option(None, min=1, help="Epochs (default: RUAI_TRAIN_EPOCHS)"),
    batch_size: int = typer.Option(None, min=2, help="Pairs per worker batch"),
    learning_rate: float = typer.Option(None, help="AdamW learning rate"),
    warmup_ratio: float = typer.Option(None, help="Fraction of steps warming up"),
    max_seq_length: int = typer.Option(None, help="Tokens kept per text"),
    num_workers: int = typer.Option(None, min=1, help="Ray Train workers"),
    use_gpu: bool = typer.Option(None, "--use-gpu/--no-gpu", help="One GPU per worker"),
    hard_negatives: bool = typer.Option(
        False, help="Add a hard negative per pair, mined from the current index (RUAI_COLLECTION)"
    ),
    run_name: str = typer.Option(None, help="Ray Train / MLflow run name"),
    register_as: str = typer.Option(
        "ruai-embedder",
        help="Registered model the result becomes the new 'challenger' version of ('' skips)",
    ),
) -> None:
    from pipelines.train_embedder import check_inputs
    from ruai.encoders.base import ModelNotFoundError
    from ruai.eval.squad import SquadFormatError
    from ruai.training.rows import NoValidPairsError

    settings = get_settings()
    try:
        inputs = check_inputs(settings, dataset, base_model)
    except (ModelNotFoundError, NoValidPairsError, SquadFormatError, FileNotFoundError) as exc:
        fail(str(exc))
    report = inputs.split.report
    console.print(report.summary())

    from pipelines.cluster import init_ray
    from pipelines.train_embedder import train_embedder

    init_ray()
    hp = {
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "warmup_ratio": warmup_ratio,
        "max_seq_length": max_seq_length,
    }
    result = train_embedder(
        settings,
        inputs,
        output,
        hp_overrides=hp,
        num_workers=num_workers,
        use_gpu=use_gpu,
        hard_negatives=hard_negatives,
        name=run_name,
        register_as=register_as or None,
    )
    Console().print(history_table(result.history))
    console.print(
        f"model: {result.output}  (RUAI_DENSE_MODEL={result.output})\n"
        f"checkpoint: {result.checkpoint_path}\nmlflow run: {result.mlflow_run_id}"
    )
    if result.registered:
        console.print(
            f"registered: {result.registered} (alias challenger); gate it with "
            f"python -m jobs.promote --model {register_as}"
        )


def history_table(history: list[dict]) -> Table:
    columns = sorted({k for row in history for k in row if k.startswith(("loss", "recall", "mrr"))})
    table = Table(title="embedder fine-tuning (epoch 0 = before training)")
    table.add_column("epoch", justify="right")
    for column in columns:
        table.add_column(column, justify="right")
    for row in history:
        table.add_row(str(row["epoch"]), *(f"{row[c]:.4f}" if c in row else "" for c in columns))
    return table


if __name__ == "__main__":
    sys.exit(app())
