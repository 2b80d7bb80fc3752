"""Kubernetes objects against the compact schemas in cluster_configs/schemas/; launcher YAMLs
against the cluster launcher schema Ray ships (ray/autoscaler/ray-schema.json)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import jsonschema
import yaml

from cluster_configs.toolchain.layout import CONFIGS, SCHEMAS
from cluster_configs.toolchain.manifests import (
    Manifest,
    ParseError,
    kubernetes_manifests,
    load_documents,
)
from cluster_configs.toolchain.problems import Problem

LAUNCHER = CONFIGS / "launcher"
_DERIVED_HINT = (
    " (not in the upstream schema: a typo? if it is a real field, re-run "
    "`python -m cluster_configs.toolchain.derive_schemas`)"
)


@cache
def _schema(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _errors(schema: dict, doc: object, where: str, hint: str = "") -> Iterator[Problem]:
    validator = jsonschema.Draft7Validator(schema)
    for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        field = ".".join(str(p) for p in error.absolute_path) or "<root>"
        more = hint if error.validator == "additionalProperties" else ""
        yield Problem(where, f"{field}: {error.message}{more}")


def check_parse(repo: Path) -> Iterator[Problem]:
    for item in load_documents(repo):
        if isinstance(item, ParseError):
            yield Problem(str(item.path), item.message)
    for path in sorted((repo / CONFIGS).rglob("*.json")):
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            yield Problem(str(path.relative_to(repo)), f"not valid JSON: {exc}")


def check_manifest_schema(repo: Path, manifest: Manifest) -> Iterator[Problem]:
    schema_path = repo / SCHEMAS / f"{manifest.schema_key}.json"
    if not schema_path.exists():
        yield Problem(
            manifest.where,
            f"no schema for {manifest.doc['apiVersion']} {manifest.doc['kind']} "
            f"({schema_path.relative_to(repo)}): run "
            "`python -m cluster_configs.toolchain.derive_schemas`",
        )
        return
    yield from _errors(_schema(schema_path), manifest.doc, manifest.where, _DERIVED_HINT)


def check_schemas(repo: Path) -> Iterator[Problem]:
    for manifest in kubernetes_manifests(repo):
        yield from check_manifest_schema(repo, manifest)


def check_launcher(repo: Path) -> Iterator[Problem]:
    import ray.autoscaler

    ray_schema = Path(ray.autoscaler.__file__).parent / "ray-schema.json"
    for path in sorted((repo / LAUNCHER).glob("*.yaml")):
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        where = str(path.relative_to(repo))
        yield from _errors(_schema(ray_schema), config, where, " (Ray's cluster launcher schema)")
