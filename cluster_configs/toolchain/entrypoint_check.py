"""RayJob entrypoints: `python -m jobs.<name> ARGS`, the module exists and its CLI accepts ARGS."""

from __future__ import annotations

import importlib
import importlib.util
import shlex
from collections.abc import Iterator
from pathlib import Path

import typer

from cluster_configs.toolchain.manifests import kubernetes_manifests
from cluster_configs.toolchain.problems import Problem


def split_entrypoint(entrypoint: str) -> tuple[str, list[str]] | str:
    """(module, args) of ``python -m module args``, or why it is not of that shape."""
    argv = shlex.split(entrypoint)
    if len(argv) < 3 or argv[0] not in {"python", "python3"} or argv[1] != "-m":
        return f"entrypoint {entrypoint!r} is not `python -m jobs.<name> ...`"
    return argv[2], argv[3:]


def cli_error(module_name: str, args: list[str]) -> str | None:
    """Parse ``args`` with the module's typer app (without running it): the usage error, if any."""
    module = importlib.import_module(module_name)
    app = getattr(module, "app", None)
    if not isinstance(app, typer.Typer):
        return None
    command = typer.main.get_command(app)
    try:
        command.make_context(module_name, list(args))
    except typer.Exit:  # --help and friends
        return None
    except typer.TyperException as exc:  # typer's click usage errors derive from it
        return exc.format_message()
    return None


def check_entrypoint(entrypoint: str, where: str) -> Iterator[Problem]:
    split = split_entrypoint(entrypoint)
    if isinstance(split, str):
        yield Problem(where, split)
        return
    module_name, args = split
    if not module_name.startswith("jobs."):
        yield Problem(where, f"entrypoint runs {module_name}, not a module of jobs/")
        return
    try:
        found = importlib.util.find_spec(module_name) is not None
    except ModuleNotFoundError:
        found = False
    if not found:
        yield Problem(where, f"entrypoint names job module {module_name}, which does not exist")
        return
    error = cli_error(module_name, args)
    if error:
        yield Problem(where, f"entrypoint arguments rejected by {module_name}: {error}")


def rayjob_entrypoints(repo: Path) -> list[tuple[str, str]]:
    """(where, entrypoint) of every RayJob under cluster_configs/."""
    return [
        (m.where, m.doc.get("spec", {}).get("entrypoint", ""))
        for m in kubernetes_manifests(repo)
        if m.doc["kind"] == "RayJob"
    ]


def check_entrypoints(repo: Path) -> Iterator[Problem]:
    for where, entrypoint in rayjob_entrypoints(repo):
        yield from check_entrypoint(entrypoint, where)
