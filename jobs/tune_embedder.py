"""Sweep embedder fine-tuning hyper-parameters with Ray Tune (ASHA early stopping, optional
Optuna), logging every trial to MLflow.

    python -m jobs.tune_embedder --dataset xquad.ru.dev.json --output runs/tune \\
        [--num-samples 8] [--max-epochs 3] [--optuna] [--max-concurrent 1] [--use-gpu]

Sweeps learning rate, batch size, warm-up and epochs; prints the results table and the best
trial's checkpoint (its model/ subdirectory is a sentence-transformers model).
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
    output: Path = typer.Option(..., help="Directory for the sweep (Ray storage, MLflow, JSON)"),
    base_model: str = typer.Option(
        None, help="Model directory or id to start from (default: RUAI_DENSE_MODEL)"
    ),
    num_samples: int = typer.Option(4, min=1, help="Trials to run"),
    max_epochs: int = typer.Option(3, min=1, help="Most epochs a trial may train (ASHA max_t)"),
    max_concurrent: int = typer.Option(1, min=1, help="Trials running at once"),
    optuna: bool = typer.Option(False, help="Let Optuna (TPE) propose the trials"),
    max_seq_length: int = typer.Option(None, help="Tokens kept per text"),
    use_gpu: bool = typer.Option(False, "--use-gpu/--no-gpu", help="One GPU per trial"),
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
    console.print(inputs.split.report.summary())

    from pipelines.cluster import init_ray
    from pipelines.tune_embedder import run_sweep

    init_ray()
    result = run_sweep(
        settings,
        inputs,
        output,
        num_samples=num_samples,
        max_epochs=max_epochs,
        max_concurrent=max_concurrent,
        use_optuna=optuna,
        use_gpu=use_gpu,
        hp_overrides={"max_seq_length": max_seq_length},
    )
    Console().print(sweep_table(result.table))
    frame = result.dataframe()
    output.mkdir(parents=True, exist_ok=True)
    frame.to_csv(output / "trials.csv", index=False)
    console.print(
        f"best: {result.best_config}\nbest checkpoint: {result.best_checkpoint}\n"
        f"trials table: {output / 'trials.csv'}  ({result.seconds:.0f} s)"
    )


def sweep_table(rows: list[dict]) -> Table:
    table = Table(title="embedder sweep")
    columns = [c for c in (rows[0] if rows else {}) if c != "error"]
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_cell(row[c]) for c in columns))
    return table


def _cell(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    sys.exit(app())
