"""Move traffic between the arms of a running app's experiment, without restarting replicas.

    python -m jobs.rollout --app rag --experiment canary --arm challenger --weight 10
    python -m jobs.rollout --app rag --experiment-file experiment.json   # start (or replace) one
    python -m jobs.rollout --rayservice ruai --namespace ruai --app rag --experiment canary \\
        --arm challenger --weight 10                                     # a KubeRay RayService
    python -m jobs.rollout --rayservice ruai --app rag --experiment-file experiment.json \\
        --manifest rayservice.yaml --patch-file patch.yaml               # for kubectl patch

A cluster started with ``serve deploy``: reads the app's live config from Serve's REST API (the
dashboard: --address, else RAY_DASHBOARD_ADDRESS), sets the arm's weight in the ingress
deployment's ``user_config``, redeploys the same config (what ``serve deploy`` does: only the
user_config changed, so Serve calls each ingress replica's ``reconfigure``) and waits until it
is in effect. The app must have been deployed from a config, not with ``serve.run``.

A RayService (--rayservice): KubeRay owns its Serve config and submits the CR's serveConfigV2
again whenever the CR changes, the operator restarts or a new cluster comes up, so the change
goes into the CR: its serveConfigV2 is patched through the Kubernetes API (in a pod: its service
account; else the kubeconfig; or --kube-api, e.g. `kubectl proxy`'s address), or written as a
merge patch to --patch-file for `kubectl patch rayservice NAME --type merge --patch-file FILE`
(the RayService read from --manifest: `kubectl get rayservice NAME -o yaml`, or the rendered
cluster_configs/kuberay/rayservice.yaml). The patched RayService is checked against the CRD
schema and Serve's config schema first. KubeRay then submits it; Serve reconfigures the
ingress replicas in place.

Both print the weights before and after. A new config also restarts the guardrails' windows: an
arm a guardrail stopped gets traffic again when it is given a weight here.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cluster_configs.toolchain.layout import KUBERAY, load_release
from pipelines.serve_rollout import DEFAULT_DASHBOARD

if TYPE_CHECKING:
    from ruai.lifecycle.arms_config import ArmsConfig

app = typer.Typer(add_completion=False, help=__doc__)
RENDERED_RAYSERVICE = KUBERAY / "rayservice.yaml"


def _fail_on(function):
    from jobs.cli import fail
    from pipelines.serve_rollout import RolloutError

    try:
        return function()
    except RolloutError as exc:
        fail(str(exc))


def _print_weights(title: str, before: dict[str, int], after: dict[str, int]) -> None:
    typer.echo(f"{title}: arm weight before → after")
    total = sum(after.values()) or 1
    for name, weight in after.items():
        was = before.get(name, "-")
        typer.echo(f"  {name:<24} {was:>6} → {weight:<6} ({100 * weight / total:.1f} %)")


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
    rayservice: str = typer.Option(
        None, help="patch this KubeRay RayService's serveConfigV2 instead of Serve's REST API"
    ),
    namespace: str = typer.Option(
        None, help="the RayService's namespace (default: cluster_configs/release.yaml's)"
    ),
    kube_api: str = typer.Option(
        None, help="Kubernetes API server URL (default: in-cluster, else the kubeconfig)"
    ),
    patch_file: Path = typer.Option(
        None, help="write the RayService patch here for kubectl instead of applying it"
    ),
    manifest: Path = typer.Option(
        None, help="with --patch-file: the RayService YAML to patch (default: the rendered one)"
    ),
) -> None:
    from jobs.cli import fail
    from pipelines import serve_rollout

    if experiment_file is not None:
        if experiment or arm or weight is not None:
            fail("--experiment-file replaces --experiment/--arm/--weight")
        try:
            body = json.loads(experiment_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            fail(f"cannot read {experiment_file}: {exc}")
        added = _fail_on(lambda: serve_rollout.parsed_experiment(body))
        change, experiment = serve_rollout.adding(added), added.name
    elif experiment is None or arm is None or weight is None:
        fail("give --experiment, --arm and --weight (or --experiment-file)")
    else:
        change = serve_rollout.weighting(experiment, arm, weight)
    if (patch_file or manifest or kube_api or namespace) and not rayservice:
        fail("--namespace, --kube-api, --patch-file and --manifest go with --rayservice")
    if rayservice:
        namespace = namespace or load_release().namespace
        _roll_out_rayservice(rayservice, namespace, app_name, change, experiment,
                             kube_api, patch_file, manifest)  # fmt: skip
        return

    if experiment_file is not None:
        added = _fail_on(lambda: serve_rollout.start_experiment(address, app_name, body, timeout_s))
        typer.echo(f"{app_name}: experiment {added.name} running with arms "
                   + ", ".join(f"{a.name}={a.weight}" for a in added.arms))  # fmt: skip
        return
    client = _fail_on(lambda: serve_rollout.serve_client(address))
    details, config, arms = _fail_on(lambda: serve_rollout.live_arms(client, app_name))
    changed = _fail_on(lambda: change(arms))
    new = changed.model_dump(mode="json")
    _fail_on(lambda: serve_rollout.apply(client, details, app_name, config, new, timeout_s))
    _print_weights(f"{app_name} / {experiment}", arms.weights(experiment),
                   changed.weights(experiment))  # fmt: skip


def _roll_out_rayservice(
    name: str,
    namespace: str,
    app_name: str,
    change: Callable[[ArmsConfig], ArmsConfig],
    experiment: str,
    kube_api: str | None,
    patch_file: Path | None,
    manifest: Path | None,
) -> None:
    from jobs.cli import fail
    from pipelines import rayservice_rollout as rs

    where = rs.RayServiceRef(name, namespace)
    if patch_file is None:
        if manifest is not None:
            fail("--manifest goes with --patch-file (the API path reads the live RayService)")
        made = _fail_on(lambda: rs.roll_out(rs.kubernetes_api(kube_api), where, app_name, change))
        _print_weights(f"{where} / {app_name} / {experiment}", made.before.weights(experiment),
                       made.after.weights(experiment))  # fmt: skip
        typer.echo(f"patched; KubeRay submits it to Serve: kubectl -n {namespace} get "
                   f"rayservice {name}")  # fmt: skip
        return
    source = manifest or RENDERED_RAYSERVICE
    made, text = _fail_on(lambda: rs.patch_file(source, where, app_name, change))
    try:
        patch_file.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {patch_file}: {exc}")
    _print_weights(f"{where} / {app_name} / {experiment}", made.before.weights(experiment),
                   made.after.weights(experiment))  # fmt: skip
    typer.echo(f"wrote {patch_file}; apply it: kubectl -n {namespace} patch rayservice {name} "
               f"--type merge --patch-file {patch_file}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(app())
