"""The layering the code keeps (no layer reaches up), read from the source with ``ast``: every
import counts, lazy ones inside functions and TYPE_CHECKING ones included.

- ``ruai/`` (the domain library) imports no Ray and nothing above it: not pipelines/,
  serve_apps/, jobs/ or raystore/;
- raystore/ (the Ray access layer) and pipelines/ import neither serve_apps/ nor jobs/;
- ``ruai.encoders`` imports nothing of ``ruai.lifecycle`` (whose registry builds on the encoders):
  a caller resolves a ``models:/`` URI before it builds an encoder;
- the modules of ``ruai.store`` import each other without a cycle;
- only the generator's deployment (``serve_apps.llm``) imports vLLM, and only the app builder
  imports it: an ingress replica never loads vLLM (10 CPU-seconds and its memory).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("ruai", "raystore", "pipelines", "serve_apps", "jobs")
ABOVE = {
    "ruai": {"ray", "raystore", "pipelines", "serve_apps", "jobs"},
    "raystore": {"pipelines", "serve_apps", "jobs"},
    "pipelines": {"serve_apps", "jobs"},
    "ruai.encoders": {"ruai.lifecycle"},
}
ACYCLIC = ("ruai.store",)


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(package: str) -> dict[str, Path]:
    return {module_name(p): p for p in sorted((REPO / package.replace(".", "/")).rglob("*.py"))}


def within(name: str, packages: set[str]) -> bool:
    return any(name == package or name.startswith(f"{package}.") for package in packages)


def imported(path: Path) -> Iterator[str]:
    """Every absolute module name ``path`` imports (``from a import b`` gives a and a.b)."""
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


@pytest.mark.parametrize("package", sorted(ABOVE))
def test_no_import_reaches_up(package: str) -> None:
    reaching = {
        name: sorted({i for i in imported(path) if within(i, ABOVE[package])})
        for name, path in modules(package).items()
    }
    assert {name: up for name, up in reaching.items() if up} == {}


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (module -> modules it imports), or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return path[path.index(node) :] + [node]
        if node in done:
            return None
        for target in sorted(graph.get(node, ())):
            found = visit(target, [*path, node])
            if found:
                return found
        done.add(node)
        return None

    return next((found for node in sorted(graph) if (found := visit(node, []))), None)


@pytest.mark.parametrize("package", ACYCLIC)
def test_modules_import_each_other_without_a_cycle(package: str) -> None:
    inside = modules(package)
    graph = {
        name: {i for i in imported(path) if i in inside and i != name}
        for name, path in inside.items()
    }
    assert cycle(graph) is None


def test_the_cycle_finder_finds_one() -> None:
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None


VLLM = {"vllm", "ray.llm", "ray.serve.llm"}


def test_only_the_generator_deployment_imports_vllm() -> None:
    importing: dict[str, set[str]] = {}
    for package in PACKAGES:
        for name, path in modules(package).items():
            names = set(imported(path))
            if any(within(i, VLLM) for i in names):
                importing.setdefault("vllm", set()).add(name)
            if any(within(i, {"serve_apps.llm"}) for i in names):
                importing.setdefault("serve_apps.llm", set()).add(name)
    assert importing == {"vllm": {"serve_apps.llm"}, "serve_apps.llm": {"serve_apps.rag"}}
