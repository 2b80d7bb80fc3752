"""Which collection and LoRA adapter a request names, checked before any store or model call:
a name that cannot exist is a 400, one this app does not serve a 404.

Models: ``rag-<collection>[:<adapter>]`` (RAG over a collection the app lists) and
``<llm_served_name>[:<adapter>]`` (a plain chat with the LLM; generator=vllm only). Adapters are
folders under RUAI_LLM_LORA_PATH, served with generator=vllm.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ruai.settings import Settings
from serve_apps.errors import invalid, not_found

RAG_PREFIX = "rag-"
MAX_NAME_CHARS = 128
# a collection name is letters, digits, '_' and '-'; an adapter (a folder name) may add '.'
_COLLECTION = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_NAME_CHARS}}}")
_ADAPTER = re.compile(rf"[A-Za-z0-9_][A-Za-z0-9_.-]{{0,{MAX_NAME_CHARS - 1}}}")


@dataclass(frozen=True, slots=True)
class Route:
    collection: str | None  # None: a plain chat with the LLM
    adapter: str | None


class ModelRouter:
    def __init__(self, settings: Settings, collections: list[str], serves_llm: bool) -> None:
        self.collections = collections
        self.llm_name = settings.llm_served_name if serves_llm else None
        self.adapters = serves_llm and bool(settings.llm_lora_path)

    def collection(self, name: str, param: str = "collection") -> str:
        if not _COLLECTION.fullmatch(name):
            raise invalid(
                f"{param} {_shown(name)} is not a collection name (letters, digits, '_', '-'; "
                f"at most {MAX_NAME_CHARS})", param, "invalid_collection",
            )  # fmt: skip
        if name not in self.collections:
            raise not_found(
                f"collection {name!r} does not exist; GET /v1/models lists the served ones",
                "collection_not_found",
            )
        return name

    def route(self, model: str) -> Route:
        name, colon, adapter = model.partition(":")
        if colon and (not _ADAPTER.fullmatch(adapter) or ".." in adapter):
            raise invalid(f"model {_shown(model)}: {_shown(adapter)} is not an adapter name",
                          "model", "invalid_model")  # fmt: skip
        if colon and not self.adapters:
            raise not_found(
                f"model {_shown(model)}: LoRA adapters are served with generator=vllm and "
                "RUAI_LLM_LORA_PATH set, as '<model>:<adapter>'",
                "model_not_found",
            )
        if name.startswith(RAG_PREFIX):
            return Route(self.collection(name[len(RAG_PREFIX) :], "model"), adapter or None)
        if self.llm_name is not None and name == self.llm_name:
            return Route(None, adapter or None)
        if len(model) > 2 * MAX_NAME_CHARS or not model.isprintable():
            raise invalid(f"model {_shown(model)} is not a model name", "model", "invalid_model")
        raise not_found(
            f"model {model!r} does not exist; GET /v1/models lists them", "model_not_found"
        )

    def rag_models(self) -> list[tuple[str, str]]:
        """(model id, collection) of every RAG model."""
        return [(f"{RAG_PREFIX}{c}", c) for c in self.collections]


def _shown(name: str) -> str:
    """A client-given name as an error message quotes it: bounded, control characters escaped."""
    return repr(name[:64] + ("…" if len(name) > 64 else ""))
