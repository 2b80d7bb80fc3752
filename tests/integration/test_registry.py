"""The model registry on both of its stores, SQLite (one machine) and a real PostgreSQL 15
server (a cluster): register with lineage, move aliases, resolve models:/ URIs to local files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ruai.encoders.base import ModelNotFoundError
from ruai.lifecycle.lineage import EMBEDDER, Lineage, check_dataset, file_sha256, split_of
from ruai.lifecycle.registry import (
    CHALLENGER,
    CHAMPION,
    ModelRef,
    Registry,
    model_path,
    pinned,
)
from ruai.settings import Settings
from ruai.training.tracking import Tracking, log_run

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request, tmp_path: Path) -> Settings:
    if request.param == "sqlite":
        return Settings(registry_dir=tmp_path / "registry")
    dsn = request.getfixturevalue("postgres_dsn")
    # one database per test: MLflow's schema, created on first use
    database = f"registry_{abs(hash(tmp_path)) % 10**8}"
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {database}")
    uri = dsn.replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0]
    return Settings(
        registry_dir=tmp_path / "registry",
        mlflow_tracking_uri=f"{uri}/{database}",
        mlflow_artifact_root=(tmp_path / "artifacts").as_uri(),
    )


def logged_model(settings: Settings, tmp_path: Path, weights: str) -> tuple[str, str]:
    """A logged run whose "model" artifact folder holds ``weights`` (what finish_run logs):
    (run id, the folder's URI)."""
    from mlflow import MlflowClient

    model = tmp_path / "out" / "model"
    model.mkdir(parents=True, exist_ok=True)
    (model / "weights.txt").write_text(weights)
    tracking = Tracking.from_settings(settings, tmp_path / "out")
    run_id = log_run(tracking, f"run-{weights}", {"lr": 1e-5}, [{"epoch": 1, "loss": 0.5}], [model])
    artifact_uri = MlflowClient(tracking_uri=tracking.uri).get_run(run_id).info.artifact_uri
    return run_id, f"{artifact_uri}/model"


def test_register_alias_and_resolve(settings: Settings, tmp_path: Path) -> None:
    dataset = tmp_path / "data.json"
    dataset.write_text(json.dumps({"data": []}))
    registry = Registry.from_settings(settings)
    versions = []
    for weights in ("first", "second"):
        run_id, source = logged_model(settings, tmp_path, weights)
        lineage = Lineage(
            EMBEDDER,
            "all-MiniLM-L6-v2",
            dataset,
            {"validation_fraction": 0.2, "seed": 0},
            {"lr": 1e-5},
            {"recall_at_5": 0.5, "loss": float("nan")},
            run_id,
        )
        versions.append(registry.register("emb", source, lineage.tags()))

    first, second = versions
    assert (first.version, second.version) == ("1", "2")
    # every new version is the challenger; champion is only ever set on purpose
    assert registry.get("models:/emb@challenger").version == "2"
    with pytest.raises(ModelNotFoundError, match="emb@champion"):
        registry.get("models:/emb@champion")
    registry.set_alias("emb", CHAMPION, first.version)

    champion = registry.get(ModelRef("emb", alias=CHAMPION))
    assert CHAMPION in champion.aliases and CHALLENGER not in champion.aliases
    assert (registry.local_path(champion) / "weights.txt").read_text() == "first"
    assert (Path(model_path("models:/emb/2", settings)) / "weights.txt").read_text() == "second"
    assert model_path("all-MiniLM-L6-v2", settings) == "all-MiniLM-L6-v2"
    # lineage records the version an alias names at training time
    assert pinned("models:/emb@champion", settings) == "models:/emb/1"
    assert pinned("all-MiniLM-L6-v2", settings) == "all-MiniLM-L6-v2"

    tags = champion.tags
    assert tags["base_model"] == "all-MiniLM-L6-v2" and tags["kind"] == EMBEDDER
    assert tags["dataset_sha256"] == file_sha256(dataset)
    assert tags["param.lr"] == "1e-05" and float(tags["metric.recall_at_5"]) == 0.5
    assert "metric.loss" not in tags  # NaN is not a metric
    assert split_of(tags) == {"seed": 0, "validation_fraction": 0.2}
    assert len(tags["git_commit"]) >= 40 and tags["run_id"]
    assert check_dataset(tags) == dataset.resolve()
    dataset.write_text(json.dumps({"data": [{"title": "changed"}]}))
    with pytest.raises(ValueError, match="changed since training"):
        check_dataset(tags)


def test_bad_uris_are_clear_errors(tmp_path: Path) -> None:
    settings = Settings(registry_dir=tmp_path / "registry")
    with pytest.raises(ValueError, match="models:/<name>@<alias>"):
        ModelRef.parse("models:/no-alias")
    with pytest.raises(ModelNotFoundError, match="not in the model registry"):
        model_path("models:/never-registered@champion", settings)


def test_promote_without_a_challenger_is_an_input_error(tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from jobs.promote import app
    from ruai.settings import get_settings

    monkeypatch.setenv("RUAI_REGISTRY_DIR", str(tmp_path / "registry"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["--model", "nothing-registered"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "models:/nothing-registered@challenger is not in the model registry" in result.output
