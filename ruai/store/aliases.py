"""Collection versions behind an alias (blue/green re-index).

The name clients use (``RUAI_COLLECTION``) is an alias that points at one concrete version,
``<alias>__v<N>``; every version records the dense model its vectors came from. Flipping the
alias is atomic: a reader resolves it either to the old version or to the new one, never to a
half-built one. A concrete version's own name resolves to itself, so a caller may also name one
(an A/B arm pinned to a version).

- qdrant-client backend: Qdrant's collection aliases (one ``update_collection_aliases`` call
  deletes and creates, atomically) and the version record in the collection's metadata.
- Qdrant Edge: an alias map ``aliases.json`` beside the shard directories, replaced atomically
  with ``os.replace`` and re-read only when its file changed (one ``stat`` per lookup).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from ruai.store.base import CollectionVersion, StoreError

ALIAS_FILE = "aliases.json"
VERSION_SEPARATOR = "__v"
# the collection metadata key the qdrant-client backend keeps a version's record under
METADATA_KEY = "ruai_version"


def version_name(alias: str, number: int) -> str:
    return f"{alias}{VERSION_SEPARATOR}{number}"


def version_number(alias: str, name: str) -> int | None:
    """N for ``<alias>__v<N>``, None for any other name."""
    match = re.fullmatch(re.escape(alias + VERSION_SEPARATOR) + r"(\d+)", name)
    return int(match[1]) if match else None


def next_version_name(alias: str, existing: list[str]) -> str:
    numbers = [n for name in existing if (n := version_number(alias, name)) is not None]
    return version_name(alias, max(numbers, default=0) + 1)


def alias_of_version(name: str, aliases: dict[str, str]) -> str | None:
    """The alias whose version ``name`` is (it points at it, or ``name`` is its ``__v<N>``)."""
    for alias, target in aliases.items():
        if target == name or version_number(alias, name) is not None:
            return alias
    return None


def rollback_target(
    alias: str, versions: list[CollectionVersion], live: CollectionVersion
) -> str | None:
    """The version to go back to from the live one: the one it was re-indexed from (live when
    that re-index started) while it exists, else the newest version older than it; never an
    incomplete one (None when there is none)."""
    candidates = [v.name for v in versions if v.complete is not False and v.name != live.name]
    if live.source in candidates:
        return live.source
    live_number = version_number(alias, live.name) or 0
    older = {
        n: name
        for name in candidates
        if (n := version_number(alias, name)) is not None and n < live_number
    }
    return older[max(older)] if older else None


def versions_to_drop(
    alias: str, versions: list[CollectionVersion], live: CollectionVersion, keep: int
) -> list[str]:
    """The versions beyond the ``keep`` to keep: the live one, its rollback target, then the
    newest others. An incomplete version (a re-index that did not finish) is never kept."""

    def number(name: str) -> int:
        return version_number(alias, name) or 0

    back = rollback_target(alias, versions, live)
    newest = sorted(
        (v.name for v in versions if v.complete is not False and v.name not in (live.name, back)),
        key=number,
        reverse=True,
    )
    kept = ([back] if back else []) + newest
    kept = kept[: max(keep - 1, 0)]
    return sorted((v.name for v in versions if v.name not in (live.name, *kept)), key=number)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class AliasBook(Protocol):
    def resolve(self, name: str) -> str:
        """The concrete collection ``name`` stands for: an alias's target, else ``name``."""

    def aliases(self) -> dict[str, str]:
        """Every alias and the version it points at."""

    def flip(self, alias: str, version: str) -> str | None:
        """Point ``alias`` at ``version`` in one atomic step; return the previous target."""

    def record(self, version: CollectionVersion) -> None:
        """Keep what built a concrete collection (its model and size)."""

    def recorded(self, name: str) -> CollectionVersion | None:
        """The record of the concrete collection ``name`` (None when nothing was recorded)."""

    def forget(self, name: str) -> None:
        """Drop the record of a dropped collection."""


class EdgeAliasBook:
    """The alias map of an Edge store: ``root/aliases.json`` =
    ``{"aliases": {alias: version}, "versions": {version: CollectionVersion}}``.

    Written by one process (the shard owner) under a lock, with ``os.replace`` so that a reader
    never sees a partial file; read again only when the file's inode or mtime changed."""

    def __init__(self, root: Path) -> None:
        self.path = Path(root) / ALIAS_FILE
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._map: dict[str, dict] = {"aliases": {}, "versions": {}}

    def _read(self) -> dict[str, dict]:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            self._seen, self._map = None, {"aliases": {}, "versions": {}}
            return self._map
        seen = (stat.st_ino, stat.st_mtime_ns)
        if seen != self._seen:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self._map = {"aliases": data.get("aliases", {}), "versions": data.get("versions", {})}
            self._seen = seen
        return self._map

    def _write(self, change: Callable[[dict[str, dict]], Any]) -> Any:
        with self._lock:
            current = self._read()
            updated = {key: dict(value) for key, value in current.items()}
            result = change(updated)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".aliases-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump(updated, out, ensure_ascii=False, indent=2)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            self._seen, self._map = None, updated
            self._read()
            return result

    def resolve(self, name: str) -> str:
        return self._read()["aliases"].get(name, name)

    def aliases(self) -> dict[str, str]:
        return dict(self._read()["aliases"])

    def flip(self, alias: str, version: str) -> str | None:
        def change(data: dict[str, dict]) -> str | None:
            previous = data["aliases"].get(alias)
            data["aliases"][alias] = version
            return previous

        return self._write(change)

    def record(self, version: CollectionVersion) -> None:
        self._write(lambda data: data["versions"].__setitem__(version.name, version.to_dict()))

    def recorded(self, name: str) -> CollectionVersion | None:
        data = self._read()["versions"].get(name)
        return CollectionVersion.from_dict(data) if data else None

    def forget(self, name: str) -> None:
        self._write(lambda data: data["versions"].pop(name, None))


class ClientAliasBook:
    """Qdrant's own collection aliases, and the version record in the collection's metadata."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def resolve(self, name: str) -> str:
        return self.aliases().get(name, name)

    def aliases(self) -> dict[str, str]:
        return {a.alias_name: a.collection_name for a in self._client.get_aliases().aliases}

    def flip(self, alias: str, version: str) -> str | None:
        from qdrant_client import models

        previous = self.aliases().get(alias)
        operations: list[Any] = []
        if previous is not None:
            operations.append(
                models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias))
            )
        operations.append(
            models.CreateAliasOperation(
                create_alias=models.CreateAlias(collection_name=version, alias_name=alias)
            )
        )
        # one request: Qdrant applies the delete and the create atomically
        self._client.update_collection_aliases(change_aliases_operations=operations)
        return previous

    def record(self, version: CollectionVersion) -> None:
        self._client.update_collection(version.name, metadata={METADATA_KEY: version.to_dict()})

    def recorded(self, name: str) -> CollectionVersion | None:
        if not self._client.collection_exists(name):
            return None
        metadata = self._client.get_collection(name).config.metadata or {}
        data = metadata.get(METADATA_KEY)
        return CollectionVersion.from_dict(data) if data else None

    def forget(self, name: str) -> None:
        """Nothing to do: the record went with the collection."""


class VersionedCollections:
    """What both store backends add for versions: ``self.aliases`` is their AliasBook and
    ``collection_names()`` lists their concrete collections."""

    aliases: AliasBook

    def collection_names(self) -> list[str]:
        raise NotImplementedError

    def version_of(self, collection: str) -> CollectionVersion:
        """The concrete version ``collection`` names now (an alias resolved) and its record."""
        name = self.aliases.resolve(collection)
        return self.aliases.recorded(name) or CollectionVersion(name)

    def versions_of(self, alias: str) -> list[CollectionVersion]:
        """The versions ``<alias>__v<N>`` that exist, oldest first."""
        numbered = sorted(
            (number, name)
            for name in self.collection_names()
            if (number := version_number(alias, name)) is not None
        )
        return [self.aliases.recorded(name) or CollectionVersion(name) for _, name in numbered]

    def alias_targets(self) -> dict[str, str]:
        return self.aliases.aliases()

    def flip_alias(self, alias: str, version: str) -> str | None:
        if version not in self.collection_names():
            raise StoreError(f"cannot point alias {alias!r} at {version!r}: no such collection")
        return self.aliases.flip(alias, version)

    def record_version(self, version: CollectionVersion) -> None:
        self.aliases.record(version)

    def _refuse_adopting_a_version(self, collection: str) -> None:
        """Adopting renames: a version's alias would point at a name that is gone."""
        alias = alias_of_version(collection, self.aliases.aliases())
        if alias is not None:
            raise StoreError(
                f"{collection!r} is a version of the alias {alias!r}: only a plain collection is "
                f"adopted (re-index {alias!r} itself)"
            )

    def _refuse_live_drop(self, collection: str) -> None:
        """A collection an alias points at is serving: flip the alias before dropping it."""
        users = [a for a, target in self.aliases.aliases().items() if target == collection]
        if users or collection in self.aliases.aliases():
            raise StoreError(
                f"{collection!r} is an alias or the version aliases {users} point at: flip the "
                "alias to another version first (python -m jobs.reindex --rollback)"
            )
