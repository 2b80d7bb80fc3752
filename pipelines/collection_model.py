"""Which dense model built a collection: recorded with it when ingestion creates it, and checked
before a re-index adopts it, so that a version never records a model its vectors did not come
from (the searches of a version encode with its recorded model)."""

from __future__ import annotations

from pathlib import Path

from raystore import RayStore
from ruai.encoders.model_info import dense_dim
from ruai.lifecycle.registry import Registry, is_model_uri, resolve_dense_model
from ruai.settings import Settings
from ruai.store.aliases import CollectionVersion, utc_now
from ruai.store.base import StoreError


class BuilderMismatchError(StoreError):
    """The caller's RUAI_DENSE_MODEL is not the model that built the collection."""


def pinned_model(model: str, settings: Settings) -> str:
    """The model as a version records it: a registry alias pinned to the version it names now
    (``models:/emb@challenger`` → ``models:/emb/3``), a local directory made absolute."""
    if is_model_uri(model):
        version = Registry.from_settings(settings).get(model)
        return f"models:/{version.name}/{version.version}"
    path = Path(model).expanduser()
    return str(path.resolve()) if path.is_dir() else model


def configured_builder(settings: Settings) -> CollectionVersion:
    """What RUAI_DENSE_MODEL would build: the pinned model and its vectors' size (unnamed)."""
    model = pinned_model(settings.dense_model, settings)
    dim = dense_dim(resolve_dense_model(settings.model_copy(update={"dense_model": model})))
    return CollectionVersion("", model=model, dim=dim)


def record_builder(store: RayStore, collection: str, built: CollectionVersion) -> None:
    """Record ``built``'s model for a plain collection that has no record yet (an alias's
    versions are recorded by the re-index that made them)."""
    if collection in store.alias_targets() or store.version_of(collection).model is not None:
        return
    store.record_version(CollectionVersion(collection, model=built.model, dim=built.dim,
                                           created=utc_now(), complete=True))  # fmt: skip


def check_builder(store: RayStore, collection: str, built: CollectionVersion) -> None:
    """Refuse when the collection's recorded model, or its stored vectors' size, is not what
    RUAI_DENSE_MODEL makes: adopting it would record the wrong model for its vectors."""
    recorded = store.version_of(collection)
    if recorded.model is not None and recorded.model != built.model:
        raise BuilderMismatchError(
            f"collection {collection!r} was built with {recorded.model!r} ({recorded.dim}-d), "
            f"but RUAI_DENSE_MODEL is {built.model!r} ({built.dim}-d): set "
            f"RUAI_DENSE_MODEL={recorded.model} (the model that built it) and run again; the "
            "target model of the re-index is --model"
        )
    try:
        store.ensure_collection(collection, built.dim or 0)
    except StoreError as exc:
        raise BuilderMismatchError(
            f"collection {collection!r} does not hold {built.dim}-d vectors, which "
            f"RUAI_DENSE_MODEL={built.model} makes ({exc}): set RUAI_DENSE_MODEL to the model "
            "that built it and run again; the target model of the re-index is --model"
        ) from exc
