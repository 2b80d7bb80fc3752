"""Hybrid search from the command line.

python -m jobs.search "QUERY" [--collection NAME] [--top-k K] [--mode hybrid|dense|sparse]
                             [--groups G1,G2 | --public] [--json]

Without --groups or --public it searches as the operator: every document of the tenant.
"""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console
from rich.table import Table

from jobs.access_options import GROUPS, PUBLIC, access_labels
from jobs.cli import ExitCode, fail
from ruai.settings import get_settings

app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    query: str = typer.Argument(..., help="The question, in Russian"),
    collection: str = typer.Option(None, help="Qdrant collection (default: RUAI_COLLECTION)"),
    tenant: str = typer.Option(None, help="Tenant to search (default: RUAI_TENANT)"),
    top_k: int = typer.Option(None, "--top-k", help="How many chunks (default: RUAI_TOP_K)"),
    mode: str = typer.Option("hybrid", help="hybrid, dense or sparse"),
    groups: str = GROUPS,
    public: bool = PUBLIC,
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list instead of a table"),
) -> None:
    from pipelines.cluster import open_searcher
    from ruai.ingest.documents import PLACE_KINDS
    from ruai.store.base import CollectionNotFoundError, StoreError

    if mode not in ("hybrid", "dense", "sparse"):
        fail(f"--mode must be hybrid, dense or sparse, not {mode!r}")
    settings = get_settings()
    collection = collection or settings.collection
    tenant = tenant or settings.tenant
    access = access_labels(groups, public)
    try:
        searcher = open_searcher(settings)
        hits = searcher.search(
            query, collection=collection, tenant=tenant, top_k=top_k, mode=mode, access=access
        )
        hint = None if hits else _why_empty(searcher.store, collection, tenant)
    except CollectionNotFoundError as exc:
        fail(str(exc), ExitCode.NO_COLLECTION)
    except StoreError as exc:
        fail(f"store unreachable: {exc}")
    if hint:
        typer.echo(hint, err=True)
    rows = [
        {
            "source": h.payload.get("source"),
            "score": h.score,
            "access": h.payload.get("access") or [],
            "text": h.payload.get("text"),
        }
        | {kind: h.payload[kind] for kind in PLACE_KINDS if kind in h.payload}
        for h in hits
    ]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{len(rows)} hits for: {query}", show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    table.add_column("source")
    table.add_column("text")
    for i, row in enumerate(rows, 1):
        place = ", ".join(f"{kind} {row[kind]}" for kind in PLACE_KINDS if kind in row)
        source = f"{row['source']} ({place})" if place else str(row["source"])
        table.add_row(str(i), f"{row['score']:.4f}", source, row["text"][:300])
    Console().print(table)


def _why_empty(store, collection: str, tenant: str) -> str | None:
    """An empty result on a collection that holds points: they belong to other tenants."""
    total = store.count(collection)
    if not total:
        return f"no hits: collection {collection!r} is empty"
    if not store.count(collection, tenant):
        return (
            f"no hits: collection {collection!r} holds {total} points, none of tenant {tenant!r};"
            " pass --tenant (or RUAI_TENANT) with the tenant the documents were ingested for"
        )
    return None


if __name__ == "__main__":
    sys.exit(app())
