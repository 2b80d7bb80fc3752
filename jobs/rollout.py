"""Move traffic between the arms of a running app's experiment, without restarting replicas.

    python -m jobs.rollout --app rag --experiment canary --arm challenger --weight 10
    python -m jobs.rollout --app rag --experiment-file experiment.json   # start (or replace) one

Reads the app's live config from Serve's REST API (the dashboard: --address, else
RAY_DASHBOARD_ADDRESS), sets the arm's weight in the ingress deployment's ``user_config``,
redeploys the same config (what ``serve deploy`` does: only the user_config changed, so Serve
calls each ingress replica's ``reconfigure``), waits until it is in effect and prints the
weights before and after. The app must have been deployed from a config (``serve deploy``, a
RayService), not with ``serve.run``. A new config also restarts the guardrails' windows: an arm
a guardrail stopped gets traffic again when it is given a weight here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from pipelines.serve_rollout import DEFAULT_DASHBOARD

app = typer.Typer(add_completion=False, help=__doc__)


def _fail_on(function):
    from jobs.cli import fail
    from pipelines.serve_rollout import RolloutError

    try:
        return function()
    except RolloutError as exc:
        fail(str(exc))


@app.command()
def main(
    app_name: str = typer.Option(..., "--app", help="Serve application name"),
    experiment: str = typer.Option(None, help="experiment name (RagAppArgs.experiments)"),
    arm: str = typer.Option(None, help="the arm whose weight changes"),
    weight: int = typer.Option(None, min=0, help="its new integer weight (0: no traffic)"),
    experiment_file: Path = typer.Option(
        None,
        help="start this experiment (JSON, e.g. jobs.monitor --act's experiment.json) in "
        "the app, replacing one of the same name",
    ),
    address: str = typer.Option(
        DEFAULT_DASHBOARD, envvar="RAY_DASHBOARD_ADDRESS", help="Ray dashboard address"
    ),
    timeout_s: float = typer.Option(120.0, help="how long to wait for the replicas"),
) -> None:
    from jobs.cli import fail
    from pipelines.serve_rollout import apply, live_arms, serve_client, start_experiment

    if experiment_file is not None:
        if experiment or arm or weight is not None:
            fail("--experiment-file replaces --experiment/--arm/--weight")
        try:
            body = json.loads(experiment_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            fail(f"cannot read {experiment_file}: {exc}")
        added = _fail_on(lambda: start_experiment(address, app_name, body, timeout_s))
        typer.echo(f"{app_name}: experiment {added.name} running with arms "
                   + ", ".join(f"{a.name}={a.weight}" for a in added.arms))  # fmt: skip
        return
    if experiment is None or arm is None or weight is None:
        fail("give --experiment, --arm and --weight (or --experiment-file)")
    client = _fail_on(lambda: serve_client(address))
    details, config, arms = _fail_on(lambda: live_arms(client, app_name))
    current = {e.name: e for e in arms.experiments}
    if experiment not in current:
        fail(f"app {app_name!r} has no experiment {experiment!r}; it has {sorted(current)}")
    try:
        changed = current[experiment].with_weights({arm: weight})
    except (KeyError, ValueError) as exc:
        fail(str(exc).strip("\"'"))
    new = arms.model_copy(
        update={"experiments": [changed if e.name == experiment else e for e in arms.experiments]}
    ).model_dump(mode="json")
    _fail_on(lambda: apply(client, details, app_name, config, new, timeout_s))
    typer.echo(f"{app_name} / {experiment}: arm weight before → after")
    for before, after in zip(current[experiment].arms, changed.arms, strict=True):
        share = 100 * after.weight / sum(a.weight for a in changed.arms)
        typer.echo(f"  {before.name:<24} {before.weight:>6} → {after.weight:<6} ({share:.1f} %)")


if __name__ == "__main__":
    sys.exit(app())
