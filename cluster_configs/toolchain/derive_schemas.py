"""Derive the compact JSON schemas in cluster_configs/schemas/ from upstream CRDs.

python -m cluster_configs.toolchain.derive_schemas \\
    --kuberay KUBERAY_CHECKOUT --prometheus-operator PO_CHECKOUT

Each schema keeps, from the upstream OpenAPI schema, only the fields the manifests in
cluster_configs/ use, and forbids any other field: a typo or a field the CRD lacks fails
validation. Core kinds (Service, StatefulSet, CronJob, Job, PersistentVolumeClaim) are built from
the core types the KubeRay CRDs embed (PodTemplateSpec, ServiceSpec, PersistentVolumeClaimSpec,
LabelSelector); the kinds no CRD embeds (ServiceAccount, Role, RoleBinding) from the models of the
official `kubernetes` client (its OpenAPI types). Re-run after adding a field to a manifest or
bumping KubeRay.
"""

from __future__ import annotations

import json
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import typer
import yaml

from cluster_configs.toolchain.layout import REPO, SCHEMAS
from cluster_configs.toolchain.manifests import kubernetes_manifests

app = typer.Typer(add_completion=False, help=__doc__)

KUBERAY_CRDS = "ray-operator/config/crd/bases/ray.io_{plural}.yaml"
PO_CRDS = "example/prometheus-operator-crd/monitoring.coreos.com_{plural}.yaml"
_KEEP = (
    "type",
    "enum",
    "format",
    "minimum",
    "maximum",
    "pattern",
    "maxLength",
    "required",
    "anyOf",
)
# KubeRay name limits (controllers/ray/utils/constant.go) and DNS-1035 labels (validation.go)
_RAY_NAME_MAX = {"RayCluster": 53, "RayJob": 47, "RayService": 47}
_DNS1035 = "^[a-z]([-a-z0-9]*[a-z0-9])?$"
_DNS1123 = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
# enforced by the operator's validation, not by the CRD (apis/ray/v1/rayservice_types.go)
_RAY_SERVICE_UPGRADE_TYPES = ["NewCluster", "NewClusterWithIncrementalUpgrade", "None"]


def _git_show(checkout: Path, path: str) -> tuple[dict, str]:
    text = subprocess.run(
        ["git", "-C", str(checkout), "show", f"HEAD:{path}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    commit = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "HEAD"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return yaml.safe_load(text), commit


def crd_schema(crd: dict, version: str) -> dict:
    served = next(v for v in crd["spec"]["versions"] if v["name"] == version)
    return served["schema"]["openAPIV3Schema"]


def prune(schema: dict, values: list[Any], where: str) -> dict:
    """The part of ``schema`` that ``values`` use; objects with properties forbid other keys."""
    out = {k: schema[k] for k in _KEEP if k in schema}
    if schema.get("x-kubernetes-int-or-string") and "anyOf" not in out:
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if "properties" in schema:
        dicts = [v for v in values if isinstance(v, dict)]
        used = sorted({k for v in dicts for k in v})
        unknown = [k for k in used if k not in schema["properties"]]
        if unknown:
            raise SystemExit(f"{where}: {unknown} not in the upstream schema: fix the manifest")
        out["properties"] = {
            k: prune(schema["properties"][k], [v[k] for v in dicts if k in v], f"{where}.{k}")
            for k in used
        }
        out["additionalProperties"] = False
    elif isinstance(schema.get("additionalProperties"), dict):
        inner = [x for v in values if isinstance(v, dict) for x in v.values()]
        out["additionalProperties"] = prune(schema["additionalProperties"], inner, where + ".*")
    if "items" in schema:
        inner = [x for v in values if isinstance(v, list) for x in v]
        out["items"] = prune(schema["items"], inner, where + "[]")
    return out


def object_meta(base: dict, kind: str) -> dict:
    meta = json.loads(json.dumps(base))
    name = meta["properties"]["name"]
    if kind in _RAY_NAME_MAX:
        name.update(pattern=_DNS1035, maxLength=_RAY_NAME_MAX[kind])
    else:
        name.update(pattern=_DNS1123, maxLength=253)
    meta["required"] = ["name"]
    return meta


def top_level(api_version: str, kind: str, meta: dict, spec: dict | None, **more: dict) -> dict:
    props = {
        "apiVersion": {"type": "string", "enum": [api_version]},
        "kind": {"type": "string", "enum": [kind]},
        "metadata": object_meta(meta, kind),
        **more,
    }
    required = ["apiVersion", "kind", "metadata"]
    if spec is not None:
        props["spec"] = spec
        required.append("spec")
    return {"type": "object", "properties": props, "required": required}


def core_types(raycluster: dict, rayservice: dict) -> dict[str, dict]:
    """Core Kubernetes types, as the KubeRay CRDs embed them."""
    template = raycluster["properties"]["spec"]["properties"]["headGroupSpec"]["properties"][
        "template"
    ]
    pod = template["properties"]["spec"]
    claim = pod["properties"]["volumes"]["items"]["properties"]["ephemeral"]["properties"][
        "volumeClaimTemplate"
    ]
    affinity_term = pod["properties"]["affinity"]["properties"]["podAffinity"]["properties"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]["items"]
    return {
        "meta": template["properties"]["metadata"],
        "template": template,
        "claim": claim,
        "selector": affinity_term["properties"]["labelSelector"],
        "service": rayservice["properties"]["spec"]["properties"]["serveService"],
        "int": {"type": "integer"},
    }


def _enum(*values: str) -> dict:
    return {"type": "string", "enum": list(values)}


def core_kinds(t: dict[str, dict]) -> dict[str, dict]:
    meta, integer = t["meta"], t["int"]
    job_spec = {
        "type": "object",
        "properties": {
            "backoffLimit": integer,
            "ttlSecondsAfterFinished": integer,
            "template": t["template"],
        },
        "required": ["template"],
    }
    return {
        "v1-Service": top_level("v1", "Service", meta, t["service"]["properties"]["spec"]),
        "v1-PersistentVolumeClaim": top_level(
            "v1", "PersistentVolumeClaim", meta, t["claim"]["properties"]["spec"]
        ),
        "apps-v1-StatefulSet": top_level(
            "apps/v1",
            "StatefulSet",
            meta,
            {
                "type": "object",
                "properties": {
                    "replicas": integer,
                    "serviceName": {"type": "string"},
                    "selector": t["selector"],
                    "template": t["template"],
                    "volumeClaimTemplates": {"type": "array", "items": t["claim"]},
                    "podManagementPolicy": _enum("OrderedReady", "Parallel"),
                    "updateStrategy": {
                        "type": "object",
                        "properties": {"type": _enum("RollingUpdate", "OnDelete")},
                    },
                },
                "required": ["selector", "template", "serviceName"],
            },
        ),
        "batch-v1-Job": top_level("batch/v1", "Job", meta, job_spec),
        "batch-v1-CronJob": top_level(
            "batch/v1",
            "CronJob",
            meta,
            {
                "type": "object",
                "properties": {
                    "schedule": {"type": "string"},
                    "concurrencyPolicy": _enum("Allow", "Forbid", "Replace"),
                    "successfulJobsHistoryLimit": integer,
                    "failedJobsHistoryLimit": integer,
                    "jobTemplate": {"type": "object", "properties": {"spec": job_spec}},
                },
                "required": ["schedule", "jobTemplate"],
            },
        ),
    }


# (schema key, apiVersion, kind, the client's model, required top-level fields)
_CLIENT_KINDS = (
    ("v1-ServiceAccount", "v1", "ServiceAccount", "V1ServiceAccount", ()),
    ("rbac.authorization.k8s.io-v1-Role", "rbac.authorization.k8s.io/v1", "Role", "V1Role", ()),
    ("rbac.authorization.k8s.io-v1-RoleBinding", "rbac.authorization.k8s.io/v1", "RoleBinding",
     "V1RoleBinding", ("roleRef",)),
)  # fmt: skip


def client_schema(model: str) -> dict:
    """The JSON schema of one of the `kubernetes` client's models (pydantic), its references
    inlined and its optional fields (``anyOf [X, null]``) as X."""
    import kubernetes.client

    schema = getattr(kubernetes.client, model).model_json_schema(by_alias=True)
    defs = schema.pop("$defs", {})

    def plain(node: Any) -> Any:
        if isinstance(node, list):
            return [plain(x) for x in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return plain(defs[node["$ref"].rsplit("/", 1)[1]])
        options = [o for o in node.get("anyOf", []) if o != {"type": "null"}]
        if "anyOf" in node and len(options) == 1:
            node = {k: v for k, v in node.items() if k != "anyOf"} | options[0]
            return plain(node)
        return {k: plain(v) for k, v in node.items()}

    return plain(schema)


def client_kinds(meta: dict) -> tuple[dict[str, dict], dict[str, str]]:
    import kubernetes

    schemas, sources = {}, {}
    for key, api_version, kind, model, required in _CLIENT_KINDS:
        fields = {k: v for k, v in client_schema(model)["properties"].items()
                  if k not in ("apiVersion", "kind", "metadata")}  # fmt: skip
        schema = top_level(api_version, kind, meta, None, **fields)
        schema["required"] += list(required)
        schemas[key] = schema
        sources[key] = f"the kubernetes=={kubernetes.__version__} client's {model} model"
    return schemas, sources


def crd_kinds(kuberay: Path, prometheus_operator: Path) -> tuple[dict[str, dict], dict[str, str]]:
    schemas, sources = {}, {}
    ray = {}
    for plural, kind in (("rayclusters", "RayCluster"), ("rayjobs", "RayJob"),
                         ("rayservices", "RayService")):  # fmt: skip
        path = KUBERAY_CRDS.format(plural=plural)
        crd, commit = _git_show(kuberay, path)
        ray[kind] = crd_schema(crd, "v1")
        sources[f"ray.io-v1-{kind}"] = f"ray-project/kuberay@{commit} {path}"
    types = core_types(ray["RayCluster"], ray["RayService"])
    upgrade = ray["RayService"]["properties"]["spec"]["properties"]["upgradeStrategy"]
    upgrade["properties"]["type"]["enum"] = _RAY_SERVICE_UPGRADE_TYPES
    for kind, schema in ray.items():
        schemas[f"ray.io-v1-{kind}"] = top_level(
            "ray.io/v1", kind, types["meta"], schema["properties"]["spec"]
        )
    for plural, kind in (("podmonitors", "PodMonitor"), ("prometheusrules", "PrometheusRule")):
        path = PO_CRDS.format(plural=plural)
        crd, commit = _git_show(prometheus_operator, path)
        key = f"monitoring.coreos.com-v1-{kind}"
        spec = crd_schema(crd, "v1")["properties"]["spec"]
        schemas[key] = top_level("monitoring.coreos.com/v1", kind, types["meta"], spec)
        sources[key] = f"prometheus-operator/prometheus-operator@{commit} {path}"
    for key, schema in core_kinds(types).items():
        schemas[key] = schema
        sources[key] = f"core Kubernetes types embedded in {sources['ray.io-v1-RayCluster']}"
    from_client, client_sources = client_kinds(types["meta"])
    return schemas | from_client, sources | client_sources


@app.command()
def main(
    kuberay: Path = typer.Option(..., help="A git checkout of ray-project/kuberay"),
    prometheus_operator: Path = typer.Option(..., help="A git checkout of prometheus-operator"),
) -> None:
    schemas, sources = crd_kinds(kuberay, prometheus_operator)
    used: dict[str, list[dict]] = defaultdict(list)
    for manifest in kubernetes_manifests(REPO):
        used[manifest.schema_key].append(manifest.doc)
    missing = sorted(set(used) - set(schemas))
    if missing:
        raise SystemExit(f"no upstream schema for {missing}: add it to derive_schemas.py")
    for stale in (REPO / SCHEMAS).glob("*.json"):
        stale.unlink()
    for key, docs in sorted(used.items()):
        pruned = prune(schemas[key], docs, key)
        pruned["$comment"] = (
            f"Derived from {sources[key]} by "
            "`python -m cluster_configs.toolchain.derive_schemas`, pruned to "
            "the fields cluster_configs uses. Do not edit."
        )
        text = json.dumps(pruned, indent=1, sort_keys=True) + "\n"
        (REPO / SCHEMAS / f"{key}.json").write_text(text, encoding="utf-8")
        typer.echo(f"{key}: {len(text)} bytes")


if __name__ == "__main__":
    app()
