"""Validate everything under cluster_configs/: one line per problem, exit 1 if there is any.

python -m jobs.validate_configs              all checks
python -m jobs.validate_configs --image      print the release image (for `docker build -t`)

Checks: YAML/JSON parse; Kubernetes objects against cluster_configs/schemas (derived from the
KubeRay and Prometheus Operator CRDs); the launcher YAML against Ray's own schema; Serve configs
(serve_apps/configs, RayService serveConfigV2) and their import paths; generated manifests and
serveConfigV2 equal their sources; RayJob entrypoints name existing job modules whose CLIs accept
their arguments; one image and Ray version everywhere; RUAI_* variables are real settings; the
Qdrant URL and API key Secret match the Qdrant manifests; every Ray cluster runs with token
authentication from one Secret, and pods that call a dashboard carry it; dashboards query
metrics that exist.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import typer
from rich.console import Console

from cluster_configs.toolchain.auth_check import check_ray_auth
from cluster_configs.toolchain.entrypoint_check import check_entrypoints
from cluster_configs.toolchain.layout import RELEASE, REPO, load_release
from cluster_configs.toolchain.metrics_check import check_metric_names
from cluster_configs.toolchain.problems import Problem
from cluster_configs.toolchain.release_check import check_env, check_images, check_qdrant_wiring
from cluster_configs.toolchain.schema_check import check_launcher, check_parse, check_schemas
from cluster_configs.toolchain.serve_check import check_generated, check_serve_configs
from jobs.cli import ExitCode, fail

app = typer.Typer(add_completion=False, help=__doc__)

CHECKS: list[tuple[str, Callable[[Path], Iterable[Problem]]]] = [
    ("parse", check_parse),
    ("schemas", check_schemas),
    ("launcher", check_launcher),
    ("serve configs", check_serve_configs),
    ("generated", check_generated),
    ("entrypoints", check_entrypoints),
    ("release", check_images),
    ("settings env", check_env),
    ("qdrant wiring", check_qdrant_wiring),
    ("ray auth", check_ray_auth),
    ("metric names", check_metric_names),
]


def validate(repo: Path = REPO) -> list[Problem]:
    problems: list[Problem] = []
    for _, check in CHECKS:
        problems.extend(check(repo))
    return problems


@app.command()
def main(
    repo: Path = typer.Option(REPO, help="Repository root to validate"),
    image: bool = typer.Option(False, "--image", help="Print the release image and exit"),
) -> None:
    if image:
        typer.echo(load_release(repo).image)
        return
    if not (repo / RELEASE).is_file():
        fail(f"{repo / RELEASE} not found: pass the repository root as --repo")
    problems = validate(repo)
    for problem in problems:
        typer.echo(str(problem), err=True)
    if problems:
        fail(f"{len(problems)} problem(s) in {repo / 'cluster_configs'}", ExitCode.PROBLEMS)
    Console(stderr=True).print(
        f"[green]ok[/green]: {len(CHECKS)} checks passed on {repo / 'cluster_configs'}"
    )


if __name__ == "__main__":
    sys.exit(app())
