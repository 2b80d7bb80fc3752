"""The evaluation gate: challenger against champion on the challenger's registered held-out split.

    python -m jobs.promote --model ruai-embedder [--margin 0.01]

Embedders are compared on paragraph recall@k (the primary metric) and MRR; LoRA adapters on the
held-out loss (primary, lower is better), token F1 and exact match of greedy answers. Without a
champion yet, the challenger is measured against the base model it was fine-tuned from. Both
sides go to one MLflow run; `champion` moves to the challenger only when it wins by the margin
(default RUAI_PROMOTE_MARGIN). Exit status: 0 promoted, 1 refused, 2 an input error.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.table import Table

from ruai.settings import get_settings

app = typer.Typer(add_completion=False, help=__doc__)
console = Console(stderr=True)


@app.command()
def main(
    model: str = typer.Option(..., help="Registered model name (e.g. ruai-embedder)"),
    margin: float = typer.Option(
        None, min=0.0, help="Least gain on the primary metric (default RUAI_PROMOTE_MARGIN)"
    ),
) -> None:
    from jobs.cli import fail
    from ruai.encoders.base import ModelNotFoundError
    from ruai.lifecycle.promotion import promote

    try:
        result = promote(get_settings(), model, margin)
    except (ModelNotFoundError, FileNotFoundError, ValueError) as exc:
        fail(str(exc))
    decision = result.decision
    table = Table(title=f"{model}: {result.challenger.uri} (challenger) vs {result.champion}")
    for column in ("metric", "champion", "challenger", "Δ"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for name, champion, challenger, delta in decision.rows():
        label = f"{name} (primary)" if name == decision.primary else name
        table.add_row(label, f"{champion:.4f}", f"{challenger:.4f}", f"{delta:+.4f}")
    Console().print(table)
    colour = "green" if decision.promote else "red"
    console.print(f"[{colour}]{decision.summary()}[/{colour}]  (mlflow run {result.run_id})")
    if not decision.promote:
        raise typer.Exit(1)
    console.print(f"models:/{model}@champion is now {result.challenger.uri}")


if __name__ == "__main__":
    sys.exit(app())
