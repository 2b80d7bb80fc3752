"""Paragraph-level retrieval quality of a collection on a SQuAD-format dataset (XQuAD-ru).

    python -m jobs.evaluate --collection NAME \
        --dataset ../shared/data/xquad-ru/xquad.ru.dev.json [--json FILE] [--sweep]

Reports recall@1/5/10 and MRR@10 for dense-only, sparse-only and hybrid (the fusion in Settings),
plus, with --sweep, a grid of fusion settings so the hybrid can be tuned and shown.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from jobs.cli import fail
from ruai.settings import get_settings

app = typer.Typer(add_completion=False, help=__doc__)


def sweep_grid():
    from ruai.store.base import FusionConfig

    grid = [("dbsf", FusionConfig(method="dbsf"))]
    for k in (2, 10, 60):
        for weight in (0.25, 1.0):
            grid.append((f"rrf k={k} wd={weight}", FusionConfig(rrf_k=k, dense_weight=weight)))
    for weight in (2.0, 4.0, 8.0, 12.0, 20.0):
        grid.append((f"linear wd={weight}", FusionConfig(method="linear", dense_weight=weight)))
    return grid


@app.command()
def main(
    dataset: Path = typer.Option(..., help="SQuAD-format JSON (or JSONL) with questions"),
    collection: str = typer.Option(None, help="Qdrant collection (default: RUAI_COLLECTION)"),
    tenant: str = typer.Option(None, help="Tenant (default: RUAI_TENANT)"),
    json_out: Path = typer.Option(None, "--json", help="Write the results as JSON here"),
    sweep: bool = typer.Option(False, help="Also evaluate a grid of fusion settings"),
) -> None:
    from pipelines.cluster import open_searcher
    from ruai.eval.retrieval_eval import evaluate_modes
    from ruai.eval.squad import read_squad
    from ruai.store.base import StoreError

    settings = get_settings()
    collection = collection or settings.collection
    if not dataset.exists():
        fail(f"dataset not found: {dataset}")
    try:
        results = evaluate_modes(
            open_searcher(settings),
            collection,
            read_squad(dataset),
            tenant or settings.tenant,
            fusions=sweep_grid() if sweep else (),
        )
    except StoreError as exc:
        fail(str(exc))
    table = Table(title=f"retrieval on {dataset.name} → {collection} (paragraph level)")
    metrics = ["recall@1", "recall@5", "recall@10", "mrr@10"]
    table.add_column("retriever")
    for metric in metrics:
        table.add_column(metric, justify="right")
    for name, row in results.items():
        table.add_row(name, *(f"{row[m]:.3f}" for m in metrics))
    Console().print(table)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(app())
