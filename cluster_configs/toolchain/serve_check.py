"""Serve configs: each validates as a `serve deploy` config, each import path resolves, and every
RayService embeds its source verbatim (no drift)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

import yaml
from pydantic import ValidationError

from cluster_configs.toolchain.layout import REPO
from cluster_configs.toolchain.manifests import kubernetes_manifests
from cluster_configs.toolchain.problems import Problem
from cluster_configs.toolchain.render import render_manifests, serve_source_of

SERVE_CONFIGS = Path("serve_apps") / "configs"


def resolve_import_path(import_path: str) -> str | None:
    """None when ``module:attribute`` (or ``module.attribute``) imports; else what went wrong."""
    module_name, sep, attribute = import_path.partition(":")
    if not sep:
        module_name, _, attribute = import_path.rpartition(".")
    if not module_name or not attribute:
        return f"import path {import_path!r} is not 'module:attribute'"
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # an import-time error of any kind breaks the deployment alike
        return f"import path {import_path!r}: cannot import {module_name}: {exc!r}"
    if not hasattr(module, attribute):
        return f"import path {import_path!r}: module {module_name} has no attribute {attribute!r}"
    return None


def check_serve_config(text: str, where: str) -> Iterator[Problem]:
    from ray.serve.schema import ServeDeploySchema

    try:
        config = ServeDeploySchema.model_validate(yaml.safe_load(text))
    except (yaml.YAMLError, ValidationError) as exc:
        yield Problem(where, f"not a valid Serve config: {' '.join(str(exc).split())[:300]}")
        return
    for application in config.applications:
        error = resolve_import_path(application.import_path)
        if error:
            yield Problem(where, f"application {application.name!r}: {error}")


def check_serve_configs(repo: Path) -> Iterator[Problem]:
    for path in sorted((repo / SERVE_CONFIGS).glob("*.yaml")):
        yield from check_serve_config(path.read_text(encoding="utf-8"), str(path.relative_to(repo)))
    for manifest in kubernetes_manifests(repo):
        if manifest.doc["kind"] == "RayService":
            text = manifest.doc.get("spec", {}).get("serveConfigV2", "")
            yield from check_serve_config(text, f"{manifest.where} serveConfigV2")


def check_generated(repo: Path = REPO) -> Iterator[Problem]:
    """Generated manifests equal their render; a RayService's serveConfigV2 equals its source."""
    source = serve_source_of(repo)
    if not (repo / source).exists():
        yield Problem(str(source), "the RayService's serve config source does not exist")
        return
    source_text = (repo / source).read_text(encoding="utf-8")
    for manifest in kubernetes_manifests(repo):
        if manifest.doc["kind"] != "RayService":
            continue
        embedded = manifest.doc.get("spec", {}).get("serveConfigV2")
        if embedded != source_text:
            yield Problem(
                manifest.where,
                f"serveConfigV2 drifts from its source {source}: "
                "run `python -m jobs.render_manifests` (never edit it by hand)",
            )
    try:
        rendered = render_manifests(repo)
    except (OSError, KeyError, StopIteration, yaml.YAMLError) as exc:
        yield Problem("cluster_configs/kuberay/src", f"cannot render the manifests: {exc!r}")
        return
    for path, text in rendered.items():
        target = repo / path
        if not target.exists():
            yield Problem(str(path), "missing: run `python -m jobs.render_manifests`")
        elif target.read_text(encoding="utf-8") != text:
            yield Problem(
                str(path), "differs from its sources: run `python -m jobs.render_manifests`"
            )
