"""Write the KubeRay manifests in cluster_configs/kuberay/ from their sources.

python -m jobs.render_manifests            write them
python -m jobs.render_manifests --check    exit 1 if any file on disk differs from its render
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from cluster_configs.toolchain.layout import REPO
from cluster_configs.toolchain.render import render_manifests
from jobs.cli import ExitCode, fail

app = typer.Typer(add_completion=False, help=__doc__)
console = Console(stderr=True)


@app.command()
def main(
    check: bool = typer.Option(False, help="Only compare; write nothing"),
    repo: Path = typer.Option(REPO, help="Repository root to render in"),
) -> None:
    stale = []
    for path, text in render_manifests(repo).items():
        target = repo / path
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == text:
            continue
        stale.append(path)
        if not check:
            target.write_text(text, encoding="utf-8")
            console.print(f"wrote {path}")
    if check and stale:
        for path in stale:
            typer.echo(f"{path}: differs from its render", err=True)
        fail(
            f"{len(stale)} manifest(s) stale: run `python -m jobs.render_manifests`",
            ExitCode.PROBLEMS,
        )
    console.print(f"{len(stale)} manifest(s) {'stale' if check else 'updated'}")


if __name__ == "__main__":
    sys.exit(app())
