"""Ingest Russian documents into Qdrant with Ray Data.

python -m jobs.ingest SOURCE [--collection NAME] [--tenant T] [--access GROUP,…] [--prune]
                           [--report FILE.json]
ray job submit --working-dir . -- python -m jobs.ingest /abs/path/to/docs …
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from jobs.cli import fail
from ruai.settings import get_settings

app = typer.Typer(add_completion=False, help=__doc__)
console = Console(stderr=True)


@app.command()
def main(
    source: str = typer.Argument(..., help="A file, a directory (recursive) or an s3:// URI"),
    collection: str = typer.Option(None, help="Qdrant collection (default: RUAI_COLLECTION)"),
    tenant: str = typer.Option(None, help="Tenant the documents belong to (default: RUAI_TENANT)"),
    prune: bool = typer.Option(False, help="Delete documents whose files are gone from SOURCE"),
    access: str = typer.Option(
        None,
        help="Who may read the documents: GROUP[,GROUP…] (a full path /legal or a name; "
        "role:NAME for a role). .ruai-access.yaml files in SOURCE's tree override it for their "
        "folders, and an S3 object's own tag or metadata RUAI_INGEST_OBJECT_ACCESS_KEY for that "
        "object; none of them: the whole tenant",
    ),
    report: Path = typer.Option(None, help="Write the report as JSON to this file"),
) -> None:
    from pipelines.cluster import init_ray
    from pipelines.ingest import run_ingest
    from pipelines.sources import SourceNotFoundError, check_source
    from raystore import embedded, release_store
    from ruai.identity.policy import AccessPolicyError, parse_access_flag
    from ruai.store.base import StoreError
    from ruai.store.factory import open_store

    settings = get_settings()
    try:
        labels = parse_access_flag(access)
    except ValueError as exc:
        fail(f"--access {access!r}: {exc}")
    try:
        check_source(source)  # the job lists SOURCE once, in run_ingest
    except SourceNotFoundError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot list SOURCE {source}: {exc}")
    if not embedded(settings):  # a Qdrant server: fail fast, before starting any Ray work
        try:
            open_store(settings).collection_exists(collection or settings.collection)
        except StoreError as exc:
            fail(f"store unreachable: {exc}")

    started_here = init_ray()
    try:
        result = run_ingest(
            settings, source, collection=collection, tenant=tenant, prune=prune, access=labels
        )
    except StoreError as exc:
        fail(f"store error: {exc}")
    except AccessPolicyError as exc:
        fail(f"access policy: {exc}")
    finally:
        if started_here:
            release_store(settings)
    table, failed = result.render()
    out = Console()
    out.print(table)
    if failed is not None:
        out.print(failed)
    if report:
        result.write_json(report)
        console.print(f"report written to {report}")


if __name__ == "__main__":
    sys.exit(app())
