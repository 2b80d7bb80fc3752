"""Every YAML document under cluster_configs/, parsed, with the Kubernetes objects among them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cluster_configs.toolchain.layout import CONFIGS, KUBERAY_SRC


@dataclass(frozen=True)
class Manifest:
    path: Path  # relative to the repository
    index: int  # position in a multi-document file
    doc: dict[str, Any]

    @property
    def where(self) -> str:
        name = self.doc.get("metadata", {}).get("name", "?")
        return f"{self.path} [{self.doc.get('kind', '?')}/{name}]"

    @property
    def schema_key(self) -> str:
        return f"{self.doc['apiVersion'].replace('/', '-')}-{self.doc['kind']}"


@dataclass(frozen=True)
class ParseError:
    path: Path
    message: str


def yaml_files(repo: Path) -> list[Path]:
    root = repo / CONFIGS
    return sorted(
        p.relative_to(repo) for p in root.rglob("*.y*ml") if p.suffix in {".yaml", ".yml"}
    )


def load_documents(repo: Path) -> Iterator[tuple[Path, int, Any] | ParseError]:
    for path in yaml_files(repo):
        try:
            docs = list(yaml.safe_load_all((repo / path).read_text(encoding="utf-8")))
        except yaml.YAMLError as exc:
            yield ParseError(path, f"not valid YAML: {' '.join(str(exc).split())}")
            continue
        for index, doc in enumerate(docs):
            yield path, index, doc


def is_kubernetes_object(doc: Any) -> bool:
    return isinstance(doc, dict) and "apiVersion" in doc and "kind" in doc


def kubernetes_manifests(repo: Path) -> list[Manifest]:
    """The Kubernetes objects (apiVersion + kind) outside kuberay/src (sources, not manifests)."""
    return [
        Manifest(item[0], item[1], item[2])
        for item in load_documents(repo)
        if not isinstance(item, ParseError)
        and not item[0].is_relative_to(KUBERAY_SRC)
        and is_kubernetes_object(item[2])
    ]
