"""The MLflow Model Registry: register fine-tuned models with lineage, move the ``champion`` and
``challenger`` aliases, and resolve ``models:/<name>@<alias>`` or ``models:/<name>/<version>`` to
a local directory without any network access.

Store: RUAI_MLFLOW_TRACKING_URI when set (PostgreSQL on a cluster:
``postgresql+psycopg://user@host:5432/mlflow``), else SQLite at ``<RUAI_REGISTRY_DIR>/mlflow.db``.
A version's source is the artifact folder of the training run that made it, so versions never
share files; a local (``file:``) source resolves in place, any other (s3://, a tracking server)
is downloaded once into ``<RUAI_REGISTRY_DIR>/cache/<name>/<version>``.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ruai.encoders.base import ModelNotFoundError
from ruai.settings import Settings

SCHEME = "models:/"
CHAMPION, CHALLENGER = "champion", "challenger"
_REF = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/@]+)|/(?P<version>\d+))$")


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A parsed ``models:/`` URI: ``alias`` or ``version`` is set."""

    name: str
    alias: str | None = None
    version: str | None = None

    @classmethod
    def parse(cls, uri: str) -> ModelRef:
        match = _REF.match(uri.strip())
        if not match:
            raise ValueError(
                f"{uri!r} is not a registry model URI: use models:/<name>@<alias> "
                "(e.g. models:/ruai-embedder@champion) or models:/<name>/<version>"
            )
        return cls(match["name"], match["alias"], match["version"])

    def __str__(self) -> str:
        return f"{SCHEME}{self.name}" + (f"@{self.alias}" if self.alias else f"/{self.version}")


def is_model_uri(value: str | None) -> bool:
    return bool(value) and str(value).startswith(SCHEME)


def registry_uri(settings: Settings) -> str:
    if settings.mlflow_tracking_uri:
        return settings.mlflow_tracking_uri
    root = Path(settings.registry_dir).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{root / 'mlflow.db'}"


@dataclass(frozen=True, slots=True)
class Version:
    name: str
    version: str
    source: str
    tags: Mapping[str, str]
    aliases: tuple[str, ...]

    @property
    def uri(self) -> str:
        return f"{SCHEME}{self.name}/{self.version}"


class Registry:
    """One registry store; every method is a plain MLflow client call (no Ray)."""

    def __init__(self, uri: str, cache_dir: Path) -> None:
        from mlflow import MlflowClient

        self.uri = uri
        self.cache_dir = cache_dir
        self.client = MlflowClient(tracking_uri=uri, registry_uri=uri)

    @classmethod
    def from_settings(cls, settings: Settings) -> Registry:
        uri = registry_uri(settings)
        return cls(uri, Path(settings.registry_dir).expanduser().resolve() / "cache")

    def register(
        self,
        name: str,
        source: str,
        tags: Mapping[str, str],
        *,
        alias: str | None = CHALLENGER,
        description: str = "",
    ) -> Version:
        """A new version of ``name`` (created if missing) from the artifact folder ``source``
        (a URI), tagged with its lineage; ``alias`` (default ``challenger``) moves onto it."""
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_registered_model(name)
        except MlflowException:
            self.client.create_registered_model(name)
        made = self.client.create_model_version(
            name, source, tags=dict(tags), description=description or None
        )
        if alias:
            self.set_alias(name, alias, made.version)
        return self.get(ModelRef(name, version=str(made.version)))

    def set_alias(self, name: str, alias: str, version: str | int) -> None:
        self.client.set_registered_model_alias(name, alias, str(version))

    def get(self, ref: ModelRef | str) -> Version:
        """The version a ref names; a missing model, alias or version is ModelNotFoundError."""
        from mlflow.exceptions import MlflowException

        ref = ModelRef.parse(ref) if isinstance(ref, str) else ref
        try:
            if ref.alias:
                found = self.client.get_model_version_by_alias(ref.name, ref.alias)
            else:
                found = self.client.get_model_version(ref.name, ref.version)
        except MlflowException as exc:
            raise ModelNotFoundError(
                f"{ref} is not in the model registry at {self.uri}: {exc.message}. List versions "
                "with `mlflow models`/the MLflow UI, or register one with jobs.finetune_*"
            ) from exc
        return _version(found)

    def versions(self, name: str) -> list[Version]:
        """Every version of the model ``name`` (none when it is not registered)."""
        return [_version(found) for found in self.client.search_model_versions(f"name = '{name}'")]

    def find(self, ref: ModelRef | str) -> Version | None:
        try:
            return self.get(ref)
        except ModelNotFoundError:
            return None

    def local_path(self, ref: ModelRef | str | Version) -> Path:
        """The version's files as a local directory (downloaded once when not on this disk)."""
        version = ref if isinstance(ref, Version) else self.get(ref)
        parsed = urlparse(version.source)
        if parsed.scheme in ("", "file"):
            path = Path(unquote(parsed.path))
            if not path.is_dir():
                raise ModelNotFoundError(
                    f"{version.uri}: its files at {path} are gone (the training run's artifacts)"
                )
            return path
        target = self.cache_dir / version.name / version.version
        if not target.is_dir():
            self._download(version, target)
        return next(iter(target.iterdir())) if _single_dir(target) else target

    def _download(self, version: Version, target: Path) -> None:
        """Download into a directory of this call's own, then rename it to ``target``; when
        another process or thread got there first, its copy is kept and this one dropped."""
        import mlflow.artifacts

        target.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=f"{target.name}.", suffix=".partial",
                                        dir=target.parent))  # fmt: skip
        partial.chmod(0o755)  # mkdtemp's 0700 would hide the cached model from other users
        try:
            mlflow.artifacts.download_artifacts(
                artifact_uri=version.source, dst_path=str(partial), tracking_uri=self.uri
            )
            try:
                partial.rename(target)
            except OSError:
                if not target.is_dir():
                    raise
        finally:
            shutil.rmtree(partial, ignore_errors=True)


def _version(found: Any) -> Version:
    return Version(
        found.name, str(found.version), found.source, dict(found.tags), tuple(found.aliases or ())
    )


def _single_dir(path: Path) -> bool:
    entries = list(path.iterdir())
    return len(entries) == 1 and entries[0].is_dir()


def pinned(value: str, settings: Settings) -> str:
    """A model setting for the lineage: ``models:/<name>@<alias>`` becomes the version the alias
    names now (``models:/<name>/<version>``: an alias moves, a version does not)."""
    if not is_model_uri(value):
        return value
    return Registry.from_settings(settings).get(ModelRef.parse(value)).uri


def model_path(value: str, settings: Settings) -> str:
    """A model setting as a loader takes it: ``models:/…`` becomes the registered version's
    local directory (through the registry in ``settings``); anything else is returned as is."""
    if not is_model_uri(value):
        return value
    return str(Registry.from_settings(settings).local_path(ModelRef.parse(value)))


def resolve_dense_model(settings: Settings) -> Settings:
    """``settings`` as the encoders take them (local files only, no registry): a ``models:/…``
    RUAI_DENSE_MODEL becomes the registered version's local directory; callers that build an
    encoder, a token counter or a dimension from Settings resolve through here first."""
    if not is_model_uri(settings.dense_model):
        return settings
    return settings.model_copy(update={"dense_model": model_path(settings.dense_model, settings)})
