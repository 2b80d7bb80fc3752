"""Blue/green re-index of a collection with another dense model, and its versions.

python -m jobs.reindex --collection C --model models:/NAME@challenger   build C__v<N+1>, flip C
python -m jobs.reindex --collection C --model /path/to/model            (a plain path or name too)
python -m jobs.reindex --collection C --list                            versions, and where C points
python -m jobs.reindex --collection C --rollback                        flip C back one version
python -m jobs.reindex --collection C --drop-old [--keep N]             drop all but N versions

The new version is built from the stored chunks (no re-parsing) while the live one serves; the
alias flips atomically once the new version holds every point. Exit codes: jobs/cli.py (1: the
new version came out incomplete and the alias was left alone).
"""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console
from rich.table import Table

from jobs.cli import ExitCode, fail
from ruai.settings import get_settings

app = typer.Typer(add_completion=False, help=__doc__)
console = Console(stderr=True)


@app.command()
def main(
    collection: str = typer.Option(None, help="The alias clients use (default: RUAI_COLLECTION)"),
    model: str = typer.Option(None, help="Dense model of the new version: models:/… or a path"),
    rollback: bool = typer.Option(False, "--rollback", help="Flip back to the previous version"),
    list_versions: bool = typer.Option(False, "--list", help="Show the versions and the alias"),
    drop_old: bool = typer.Option(False, "--drop-old", help="Drop versions beyond --keep"),
    keep: int = typer.Option(1, min=1, help="Versions --drop-old keeps, the live one included"),
    stage: bool = typer.Option(
        False, "--stage", help="With --model: build the version, leave the alias (a canary arm)"
    ),
    flip_to: str = typer.Option(None, help="Point the alias at this (staged) version"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables"),
) -> None:
    from pipelines import reindex
    from pipelines.cluster import init_ray, running_cluster_address
    from pipelines.serve_rollout import arm_collections
    from raystore import embedded, release_store, store_for
    from ruai.encoders.base import ModelNotFoundError
    from ruai.store.base import CollectionNotFoundError, StoreError
    from ruai.store.factory import open_store

    settings = get_settings()
    collection = collection or settings.collection
    if sum((bool(model), rollback, list_versions, drop_old, bool(flip_to))) != 1:
        fail("give exactly one of --model, --rollback, --list, --drop-old and --flip-to")
    if stage and not model:
        fail("--stage goes with --model")
    if not embedded(settings):  # a Qdrant server: fail fast, before starting any Ray work
        try:
            open_store(settings).collection_exists(collection)
        except StoreError as exc:
            fail(f"store unreachable: {exc}")
    # a re-index runs Ray Data (on the running cluster, else a local one); the other actions
    # only go through the cluster's store owner when a cluster runs (it holds an embedded shard)
    started_here = init_ray() if model or running_cluster_address() else False
    try:
        store = store_for(settings)
        if list_versions:
            return _print_versions(reindex.version_rows(store, collection), collection, as_json)
        if rollback:
            before, after = reindex.rollback(store, collection)
            return _say({"collection": collection, "from": before, "to": after}, as_json)
        if drop_old:
            dropped, spared = reindex.drop_old(store, collection, keep, arm_collections())
            return _say(
                {"collection": collection, "dropped": dropped, "kept_for_arms": spared}, as_json
            )
        if flip_to:
            before, after = reindex.flip_to(store, collection, flip_to)
            return _say({"collection": collection, "from": before, "to": after}, as_json)

        def progress(report: reindex.ReindexReport) -> None:
            console.print(f"{report.points_written}/{report.points_source} points re-embedded")

        result = reindex.run_reindex(
            settings, collection, model, flip=not stage, on_progress=progress
        )
    except CollectionNotFoundError as exc:
        fail(str(exc), ExitCode.NO_COLLECTION)
    except reindex.ReindexIncompleteError as exc:
        fail(str(exc), ExitCode.PROBLEMS)
    except (StoreError, ModelNotFoundError, ValueError) as exc:
        fail(str(exc))
    finally:
        if started_here:
            release_store(settings)
    if as_json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        Console().print(result.render())


def _say(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(" ".join(f"{key}={value}" for key, value in result.items()))


def _print_versions(rows: list[dict], collection: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    columns = ("version", "live", "model", "dim", "points", "created", "source", "complete")
    table = Table(title=f"versions of {collection}")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if row[c] is None else str(row[c]) for c in columns))
    Console().print(table)


if __name__ == "__main__":
    sys.exit(app())
