"""Changing a RayService's experiments where KubeRay keeps them: in its ``serveConfigV2``.

KubeRay owns a RayService's Serve config: it submits the CR's ``serveConfigV2`` to Serve whenever
the CR changes, the operator restarts or a new cluster comes up (an upgrade), so a config PUT
straight to Serve's REST API (pipelines/serve_rollout.py) lasts only until then. Here the new
ingress ``user_config`` (ruai/lifecycle/arms_config.py) goes into the CR instead: the app's
``deployments[RagIngress].user_config`` in ``serveConfigV2`` — what the REST path sends to Serve,
so Serve reconfigures the ingress replicas in place once KubeRay submits it — written either
through the Kubernetes API (a JSON merge patch of the custom object, guarded by its
``resourceVersion``) or as a patch file for ``kubectl patch --type merge --patch-file``. The
patched RayService is checked against the CRD schema and Serve's config schema the repository
checks its manifests with (jobs/validate_configs.py) before anything is written.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipelines.serve_rollout import INGRESS, RolloutError, with_user_config
from ruai.lifecycle.arms_config import ArmsConfig

GROUP, VERSION, PLURAL = "ray.io", "v1", "rayservices"
FIELD_MANAGER = "ruai-rollout"


@dataclass(frozen=True, slots=True)
class RayServiceRef:
    name: str
    namespace: str

    def __str__(self) -> str:
        return f"RayService {self.namespace}/{self.name}"


def serve_config(rayservice: dict[str, Any], where: RayServiceRef) -> dict[str, Any]:
    text = (rayservice.get("spec") or {}).get("serveConfigV2")
    if not text:
        raise RolloutError(f"{where} has no spec.serveConfigV2 (its Serve config)")
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RolloutError(f"{where}: spec.serveConfigV2 is not YAML: {exc}") from exc
    if not isinstance(config, dict):
        raise RolloutError(f"{where}: spec.serveConfigV2 is not a Serve config")
    return config


def app_config(config: dict[str, Any], app_name: str, where: RayServiceRef) -> dict[str, Any]:
    apps = {app.get("name"): app for app in config.get("applications") or []}
    if app_name not in apps:
        raise RolloutError(f"{where} has no Serve app {app_name!r}; it has {sorted(apps)}")
    return apps[app_name]


def arms_of(app: dict[str, Any]) -> ArmsConfig:
    """The ingress's user_config as the app's config gives it: its ``deployments`` override
    when there is one, else what ``build_app`` makes of the app's args."""
    ingress = next((d for d in app.get("deployments") or [] if d.get("name") == INGRESS), {})
    if "user_config" in ingress:
        return ArmsConfig.model_validate(ingress["user_config"] or {})
    args = app.get("args") or {}
    return ArmsConfig.model_validate(
        {key: args[key] for key in ("experiments", "guardrails") if key in args}
    )


@dataclass(frozen=True, slots=True)
class Change:
    """A RayService's experiments before and after, and the merge patch that makes the change."""

    before: ArmsConfig
    after: ArmsConfig
    patch: dict[str, Any]
    patched: dict[str, Any]  # the RayService as the patch leaves it


def change_of(
    rayservice: dict[str, Any],
    where: RayServiceRef,
    app_name: str,
    change: Callable[[ArmsConfig], ArmsConfig],
) -> Change:
    """The patch that sets ``app_name``'s ingress user_config to ``change(its current one)``,
    checked against the RayService CRD schema and Serve's schema (RolloutError if it fails)."""
    config = serve_config(rayservice, where)
    app = app_config(config, app_name, where)
    before = arms_of(app)
    after = change(before)
    new_app = with_user_config(app, after.model_dump(mode="json"))
    new_config = config | {
        "applications": [new_app if a is app else a for a in config["applications"]]
    }
    text = yaml.safe_dump(new_config, sort_keys=False, allow_unicode=True)
    patch: dict[str, Any] = {"spec": {"serveConfigV2": text}}
    version = (rayservice.get("metadata") or {}).get("resourceVersion")
    if version:  # the API server refuses the patch if the CR changed since it was read
        patch["metadata"] = {"resourceVersion": version}
    patched = copy.deepcopy(rayservice)
    patched["spec"]["serveConfigV2"] = text
    problems = check_rayservice(patched, where)
    if problems:
        raise RolloutError(f"the patched {where} would not validate: " + "; ".join(problems))
    return Change(before, after, patch, patched)


def check_rayservice(rayservice: dict[str, Any], where: RayServiceRef) -> list[str]:
    """What is wrong with ``rayservice`` by the RayService CRD schema (its spec) and Serve's
    config schema (its serveConfigV2, import paths included): jobs.validate_configs' checks."""
    from cluster_configs.toolchain.layout import REPO
    from cluster_configs.toolchain.manifests import Manifest
    from cluster_configs.toolchain.schema_check import check_manifest_schema
    from cluster_configs.toolchain.serve_check import check_serve_config

    metadata = rayservice.get("metadata") or {}
    manifest = Manifest(
        Path(str(where)),
        0,
        {
            "apiVersion": rayservice.get("apiVersion", f"{GROUP}/{VERSION}"),
            "kind": rayservice.get("kind", "RayService"),
            "metadata": {"name": metadata.get("name"), "namespace": metadata.get("namespace")},
            "spec": rayservice.get("spec"),
        },
    )
    problems = list(check_manifest_schema(REPO, manifest))
    problems += check_serve_config(rayservice["spec"]["serveConfigV2"], f"{where} serveConfigV2")
    return [problem.message for problem in problems]


# -- the Kubernetes API -----------------------------------------------------------------------


def kubernetes_api(host: str | None = None) -> Any:
    """The official client's CustomObjectsApi: at ``host`` (e.g. ``kubectl proxy``'s
    http://127.0.0.1:8001), else the pod's service account, else the kubeconfig."""
    from kubernetes import client, config

    if host:
        return client.CustomObjectsApi(client.ApiClient(client.Configuration(host=host)))
    try:
        config.load_incluster_config()
    except config.ConfigException:
        try:  # KUBECONFIG as it is now (the client reads it once, when first imported)
            config.load_kube_config(config_file=os.environ.get("KUBECONFIG"))
        except (config.ConfigException, OSError) as exc:
            raise RolloutError(
                f"no Kubernetes API to talk to: not in a pod and no kubeconfig ({exc}); give "
                "--kube-api (e.g. `kubectl proxy`'s http://127.0.0.1:8001) or --patch-file"
            ) from exc
    return client.CustomObjectsApi()


def _api_error(exc: Exception, doing: str, where: RayServiceRef) -> RolloutError:
    status = getattr(exc, "status", None)
    if status == 404:
        return RolloutError(f"{where} not found (check --rayservice and --namespace)")
    if status == 409:
        return RolloutError(f"{where} changed while it was being patched: run again")
    return RolloutError(f"cannot {doing} {where}: {' '.join(str(exc).split())}")


def read_rayservice(api: Any, where: RayServiceRef) -> dict[str, Any]:
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        return api.get_namespaced_custom_object(GROUP, VERSION, where.namespace, PLURAL, where.name)
    except (ApiException, HTTPError) as exc:
        raise _api_error(exc, "read", where) from exc


def patch_rayservice(api: Any, where: RayServiceRef, patch: dict[str, Any]) -> dict[str, Any]:
    """Apply the merge patch; the RayService as the API server stored it."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        return api.patch_namespaced_custom_object(
            GROUP, VERSION, where.namespace, PLURAL, where.name, patch,
            field_manager=FIELD_MANAGER, _content_type="application/merge-patch+json",
        )  # fmt: skip
    except (ApiException, HTTPError) as exc:
        raise _api_error(exc, "patch", where) from exc


def roll_out(
    api: Any, where: RayServiceRef, app_name: str, change: Callable[[ArmsConfig], ArmsConfig]
) -> Change:
    """Read the RayService, patch its serveConfigV2 with the changed experiments; KubeRay then
    submits it to Serve (and again whenever it re-submits the CR)."""
    current = read_rayservice(api, where)
    made = change_of(current, where, app_name, change)
    stored = patch_rayservice(api, where, made.patch)
    if arms_of(app_config(serve_config(stored, where), app_name, where)) != made.after:
        raise RolloutError(f"{where} was patched, but reads back other experiments")
    return made


def patch_file(
    manifest: Path, where: RayServiceRef, app_name: str, change: Callable[[ArmsConfig], ArmsConfig]
) -> tuple[Change, str]:
    """The change of the RayService in ``manifest`` (``kubectl get rayservice -o yaml``, or the
    repository's rendered one) as a merge patch (YAML text) for ``kubectl patch --patch-file``."""
    try:
        docs = list(yaml.safe_load_all(manifest.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise RolloutError(f"cannot read {manifest}: {exc}") from exc
    found = [
        d for d in docs
        if isinstance(d, dict) and d.get("kind") == "RayService"
        and (d.get("metadata") or {}).get("name") == where.name
    ]  # fmt: skip
    if not found:
        raise RolloutError(f"{manifest} holds no RayService named {where.name!r}")
    made = change_of(found[0], where, app_name, change)
    return made, yaml.safe_dump(made.patch, sort_keys=False, allow_unicode=True)
