"""The VectorStore contract of tests/unit/test_store_contract.py, run over the raystore/ proxies
on the session's Ray cluster: a DirectStore (the store opened in this process: LocalStore, which
the owner actor runs too) and an OwnedStore (every call a Ray call to the owner actor), each on
Qdrant Edge and on qdrant-client's local mode. One owner per backend serves the whole module; a
test's collections are dropped after it."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from ruai.settings import Settings
from ruai.store.base import store_methods
from tests.unit import test_store_contract as contract

pytestmark = pytest.mark.integration
# qdrant-client's in-memory mode has no path for a Settings (nor an owner) to open
KINDS = ("edge", "client-path")


def _takes_a_store(test) -> bool:
    """A contract test on the ``store``/``filled`` fixtures that runs on every backend (not one
    pinned to some backends by its own ``kind`` parameters)."""
    pinned = any(
        mark.name == "parametrize" and mark.args[0] == "kind"
        for mark in getattr(test, "pytestmark", [])
    )
    return not pinned and bool({"store", "filled"} & set(inspect.signature(test).parameters))


globals().update(
    {name: test for name, test in vars(contract).items()
     if name.startswith("test_") and _takes_a_store(test)}
)  # fmt: skip
filled = contract.filled


def _settings(kind: str, root: Path) -> Settings:
    backend = "edge" if kind == "edge" else "client"
    return Settings(store_backend=backend, qdrant_path=root / kind, qdrant_url=None)


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def owned(ray_cluster, tmp_path_factory: pytest.TempPathFactory):
    """kind -> the OwnedStore of that backend's owner actor (started on first use)."""
    from raystore import release_store, store_for

    made: dict[str, tuple[Settings, object]] = {}

    def owned_store(kind: str):
        if kind not in made:
            settings = _settings(kind, tmp_path_factory.mktemp("owned"))
            made[kind] = (settings, store_for(settings))
        return made[kind][1]

    yield owned_store
    for settings, _ in made.values():
        release_store(settings)


@pytest.fixture(params=["direct", "owned"])
def store(request: pytest.FixtureRequest, kind: str, tmp_path: Path, owned):
    from raystore import DirectStore, OwnedStore

    if request.param == "direct":
        opened = DirectStore(_settings(kind, tmp_path))
        yield opened
        opened.close()
        return
    opened = owned(kind)
    assert isinstance(opened, OwnedStore)
    yield opened
    for name in opened.collection_names():
        opened.drop_collection(name)


def _parameters(function) -> list[str]:
    # Ray's tracing adds ``_ray_trace_ctx`` to an actor class's methods
    return [p for p in inspect.signature(function).parameters if p != "_ray_trace_ctx"]


def test_every_proxy_has_the_whole_protocol() -> None:
    from raystore import DirectStore, OwnedStore
    from raystore.owner import ShardOwner

    assert {"retrieve", "set_access", "readable_docs"} <= set(store_methods())
    assert len(store_methods()) == 23
    for proxy in (DirectStore, OwnedStore, ShardOwner):
        for name in store_methods():
            method = getattr(proxy, name)
            assert method is not getattr(contract.VectorStore, name), (proxy, name)
            assert _parameters(method) == _parameters(getattr(contract.VectorStore, name))
