"""Retrieval or answer quality of a collection on a SQuAD-format dataset (XQuAD-ru).

    python -m jobs.evaluate --collection NAME \
        --dataset ../shared/data/xquad-ru/xquad.ru.dev.json [--json FILE] [--sweep]
    python -m jobs.evaluate --answers --dataset FILE [--json FILE]
        [--url http://127.0.0.1:8000/v1 --model rag-NAME] [--judge-model saiga]

Retrieval (default): recall@1/5/10 and MRR@10 for dense-only, sparse-only and hybrid (the fusion
in Settings), plus, with --sweep, a grid of fusion settings so the hybrid can be tuned and shown.

--answers: asks every question and scores the answers (ruai.eval.answer_metrics): exact match
and token F1 of the first cited statement, gold answer in the first statement / anywhere, mean
length, citation precision; the in-process graph (retriever + extractive answerer) by default,
the served app with --url; --judge-model adds an LLM-as-judge grade from that model on the same
endpoint (prompt: ruai/eval/prompts/judge_ru.txt).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from jobs.access_options import GROUPS, PUBLIC, access_labels
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
    answers: bool = typer.Option(False, help="Score answers instead of retrieval"),
    url: str = typer.Option(None, help="--answers: the served app's OpenAI base URL"),
    model: str = typer.Option(None, help="--answers --url: rag-<collection> by default"),
    api_key: str = typer.Option(None, help="--url: API key (default: $RUAI_API_KEY or 'local')"),
    judge_model: str = typer.Option(None, help="--answers --url: LLM to grade answers"),
    groups: str = GROUPS,
    public: bool = PUBLIC,
) -> None:
    if answers and (groups or public):
        fail("--groups/--public go with retrieval; --answers asks as the key it is given")
    if answers:
        evaluate_answers_cli(
            dataset, collection, tenant, json_out, url, model, api_key, judge_model
        )
        return
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
            access=access_labels(groups, public),
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


def evaluate_answers_cli(
    dataset: Path,
    collection: str | None,
    tenant: str | None,
    json_out: Path | None,
    url: str | None,
    model: str | None,
    api_key: str | None,
    judge_model: str | None,
) -> None:
    from rich.progress import Progress

    from ruai.eval.answer_eval import InProcessRag, ServedRag, evaluate_answers, openai_chat
    from ruai.eval.squad import read_squad
    from ruai.llm.extractive import ExtractiveAnswerer
    from ruai.store.base import StoreError

    settings = get_settings()
    collection = collection or settings.collection
    if not dataset.exists():
        fail(f"dataset not found: {dataset}")
    if judge_model and not url:
        fail("--judge-model needs --url: the judge is the LLM the served app exposes")
    questions = read_squad(dataset).questions
    judge = None
    errors: tuple[type[Exception], ...] = (StoreError,)
    if url:
        import openai

        client = openai.OpenAI(
            base_url=url, api_key=api_key or os.environ.get("RUAI_API_KEY", "local"), max_retries=1
        )
        ask = ServedRag(client, model or f"rag-{collection}")
        judge = openai_chat(client, judge_model) if judge_model else None
        errors += (openai.APIError,)  # unreachable, 4xx/5xx: one line, not a traceback
        where = url
    else:
        from pipelines.cluster import open_searcher

        retriever = open_searcher(settings)
        answerer = ExtractiveAnswerer.from_settings(settings, retriever.sparse.lemmatizer)
        ask = InProcessRag(retriever, answerer, collection, tenant or settings.tenant)
        where = f"in-process, {settings.answer_style} extractive answers"
    try:
        with Progress(transient=True) as progress:
            task = progress.add_task("asking", total=len(questions))
            results = evaluate_answers(questions, ask, judge, lambda n: progress.advance(task, n))
    except errors as exc:
        fail(f"{type(exc).__name__}: {exc}")
    summary = results["summary"]
    table = Table(title=f"answers: {dataset.name} → {collection}", caption=where)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in summary.items():
        table.add_row(name, "—" if value is None else f"{value:.3f}".rstrip("0").rstrip("."))
    Console().print(table)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(app())
