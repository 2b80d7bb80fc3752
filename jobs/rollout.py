"""Move traffic between the arms of a running app's experiment, without restarting replicas.

    python -m jobs.rollout --app rag --experiment canary --arm challenger --weight 10

Reads the app's live config from Serve's REST API (the dashboard: --address, else
RAY_DASHBOARD_ADDRESS), sets the arm's weight in the ingress deployment's ``user_config``,
redeploys the same config (what ``serve deploy`` does: only the user_config changed, so Serve
calls each ingress replica's ``reconfigure``), waits until it is in effect and prints the
weights before and after. The app must have been deployed from a config (``serve deploy``, a
RayService), not with ``serve.run``. A new config also restarts the guardrails' windows: an arm
a guardrail stopped gets traffic again when it is given a weight here.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import typer

app = typer.Typer(add_completion=False, help=__doc__)

INGRESS = "RagIngress"


def _live(details: dict[str, Any], name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the app's deployed config, the ingress's live user_config) or a CLI failure."""
    from jobs.cli import fail

    apps = details.get("applications") or {}
    if name not in apps:
        fail(f"no Serve app {name!r} is running; running: {sorted(apps) or 'none'}")
    config = apps[name].get("deployed_app_config")
    if not config:
        fail(f"app {name!r} was started with serve.run, not from a config: deploy it with "
             "`serve deploy` (or a RayService) to change its weights at run time")  # fmt: skip
    ingress = (apps[name].get("deployments") or {}).get(INGRESS)
    if ingress is None:
        fail(f"app {name!r} has no {INGRESS} deployment (is it serve_apps.rag:build_app?)")
    return config, ingress["deployment_config"].get("user_config") or {}


def with_user_config(config: dict[str, Any], user_config: dict[str, Any]) -> dict[str, Any]:
    """The app config with the ingress deployment's user_config replaced (other overrides kept)."""
    deployments = [d for d in config.get("deployments") or [] if d.get("name") != INGRESS]
    ingress = next((d for d in config.get("deployments") or [] if d.get("name") == INGRESS), {})
    deployments.append(ingress | {"name": INGRESS, "user_config": user_config})
    return config | {"deployments": deployments}


def deploy_request(details: dict[str, Any], name: str, config: dict[str, Any]) -> dict[str, Any]:
    """A full `serve deploy` body: every config-deployed app (a PUT replaces them all), with
    ``name``'s config swapped, and the running proxies' options."""
    from ray.serve.schema import HTTPOptionsSchema

    apps = [
        config if app_name == name else entry["deployed_app_config"]
        for app_name, entry in details["applications"].items()
        if entry.get("deployed_app_config")
    ]
    http = {k: v for k, v in (details.get("http_options") or {}).items()
            if k in HTTPOptionsSchema.model_fields}  # fmt: skip
    return {"applications": apps, "http_options": http,
            "proxy_location": details.get("proxy_location") or "EveryNode"}  # fmt: skip


@app.command()
def main(
    app_name: str = typer.Option(..., "--app", help="Serve application name"),
    experiment: str = typer.Option(..., help="experiment name (RagAppArgs.experiments)"),
    arm: str = typer.Option(..., help="the arm whose weight changes"),
    weight: int = typer.Option(..., min=0, help="its new integer weight (0: no traffic)"),
    address: str = typer.Option(
        "http://127.0.0.1:8265", envvar="RAY_DASHBOARD_ADDRESS", help="Ray dashboard address"
    ),
    timeout_s: float = typer.Option(120.0, help="how long to wait for the replicas"),
) -> None:
    from ray.dashboard.modules.serve.sdk import ServeSubmissionClient

    from jobs.cli import fail
    from serve_apps.experiments import ArmsConfig

    try:
        client = ServeSubmissionClient(address)
        details = client.get_serve_details()
    except Exception as exc:
        fail(f"cannot reach Serve's REST API at {address}: {exc}")
    config, live = _live(details, app_name)
    arms = ArmsConfig.model_validate(live)
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
    try:
        client.deploy_applications(deploy_request(details, app_name, with_user_config(config, new)))
    except Exception as exc:
        fail(f"Serve refused the new config: {exc}")
    deadline = time.monotonic() + timeout_s
    while True:
        entry = client.get_serve_details()["applications"].get(app_name) or {}
        ingress = (entry.get("deployments") or {}).get(INGRESS) or {}
        in_effect = ingress.get("deployment_config", {}).get("user_config") == new
        if in_effect and entry.get("status") == "RUNNING" and ingress.get("status") == "HEALTHY":
            break
        if entry.get("status") == "DEPLOY_FAILED" or time.monotonic() > deadline:
            fail(f"app {app_name!r} is {entry.get('status')}: {entry.get('message', '')}")
        time.sleep(0.5)
    typer.echo(f"{app_name} / {experiment}: arm weight before → after")
    for before, after in zip(current[experiment].arms, changed.arms, strict=True):
        share = 100 * after.weight / sum(a.weight for a in changed.arms)
        typer.echo(f"  {before.name:<24} {before.weight:>6} → {after.weight:<6} ({share:.1f} %)")


if __name__ == "__main__":
    sys.exit(app())
