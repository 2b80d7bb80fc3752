"""Fine-tune → registered version with lineage → the gate → models:/…@champion in ingestion and
serving. Two fine-tunes of MiniLM on a tiny XQuAD-ru cut: the good one is the training module's
run (tests/integration/conftest.py's `trained_embedder`), the other is wrecked at learning rate
5.0 (as test_train_tune wrecks a trial), in this process: the gate judges models, not runs."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from jobs.promote import app as promote_app
from ruai.lifecycle.lineage import EMBEDDER, Lineage, split_of
from ruai.lifecycle.registry import CHALLENGER, CHAMPION, Registry
from ruai.settings import Settings
from ruai.training.batches import shuffled_batches
from ruai.training.embedder_session import MODEL_DIRNAME, EmbedderSession
from ruai.training.hparams import EmbedderHParams
from tests.integration.conftest import EMBEDDER_MODEL as MODEL
from tests.support.registered_folder import register_folder

pytestmark = pytest.mark.integration


WRECKED = {"epochs": 1, "batch_size": 4, "max_seq_length": 48, "learning_rate": 5.0}


@pytest.fixture(scope="module")
def registered(trained_embedder, tmp_path_factory):
    """(settings, wrecked version uri, good version uri): good is v1, the run of
    tests/integration/conftest.py (2 epochs at 5e-5); wrecked is v2, the same base after 1 epoch
    at 5.0 on the same training pairs, trained here by the session and batches a Tune trial runs."""
    settings, inputs, good, _ = trained_embedder
    work = tmp_path_factory.mktemp("promote-embedder")
    hp = EmbedderHParams.from_settings(settings, **WRECKED)
    rows = inputs.split.train
    session = EmbedderSession(inputs.base_model, hp, hp.steps_per_epoch(len(rows)))
    session.train_epoch(shuffled_batches(rows, hp.batch_size, hp.seed))
    session.model.save(str(work / "wrecked"))
    split = split_of(Registry.from_settings(settings).get(good.registered).tags)
    lineage = Lineage(EMBEDDER, inputs.base_ref, inputs.dataset, split, params=hp.to_dict())
    wrecked = register_folder(
        settings, work / "wrecked", MODEL_DIRNAME, MODEL, lineage, work, hp.to_dict()
    )
    return settings, wrecked, good.registered


def run_promote(settings: Settings, monkeypatch, *args: str):
    from ruai.settings import get_settings

    monkeypatch.setenv("RUAI_REGISTRY_DIR", str(settings.registry_dir))
    for name in ("DENSE_MODEL", "TRAIN_VALIDATION_FRACTION", "TRAIN_RECALL_K"):
        monkeypatch.setenv(f"RUAI_{name}", str(getattr(settings, name.lower())))
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(promote_app, ["--model", MODEL, *args])
    finally:
        get_settings.cache_clear()


def test_fine_tune_registers_a_version_with_lineage(registered):
    settings, wrecked, good = registered
    registry = Registry.from_settings(settings)
    assert (good, wrecked) == (f"models:/{MODEL}/1", f"models:/{MODEL}/2")
    assert registry.get(f"models:/{MODEL}@{CHALLENGER}").version == "2"  # the newest
    version = registry.get(good)
    tags = version.tags
    assert tags["kind"] == "embedder" and tags["base_model"] == "all-MiniLM-L6-v2"
    assert tags["param.learning_rate"] == "5e-05" and "metric.recall_at_3" in tags
    assert len(tags["dataset_sha256"]) == 64 and tags["git_commit"] != "unknown"
    assert (registry.local_path(version) / "modules.json").is_file()


def test_gate_promotes_the_better_and_refuses_the_wrecked(registered, monkeypatch):
    settings, wrecked, good = registered
    registry = Registry.from_settings(settings)
    # the wrecked model went live by hand: the good challenger must beat it
    registry.set_alias(MODEL, CHAMPION, "2")
    registry.set_alias(MODEL, CHALLENGER, "1")
    promoted = run_promote(settings, monkeypatch, "--margin", "0.05")
    assert promoted.exit_code == 0, promoted.output
    assert "recall_at_3 (primary)" in promoted.output and "promoted" in promoted.output
    assert registry.get(f"models:/{MODEL}@{CHAMPION}").version == "1"

    # now the wrecked one is the challenger against the good champion
    registry.set_alias(MODEL, CHALLENGER, "2")
    refused = run_promote(settings, monkeypatch)
    assert refused.exit_code == 1, refused.output
    assert "refused" in refused.output
    assert registry.get(f"models:/{MODEL}@{CHAMPION}").version == "1"

    import mlflow

    mlflow.set_tracking_uri(registry.uri)
    runs = mlflow.search_runs(experiment_names=["ruai-promote"], order_by=["start_time ASC"])
    assert list(runs["tags.decision"]) == ["promoted", "refused"]
    first = runs.iloc[0]
    assert first["metrics.challenger.recall_at_3"] >= first["metrics.champion.recall_at_3"] + 0.05


def test_champion_uri_loads_in_ingestion_and_serving(registered, make_settings, few_articles):
    import numpy as np

    from pipelines.ingest import run_ingest
    from ruai.encoders.factory import build_dense_encoder
    from serve_apps.search import Search

    settings, _, _ = registered
    registry = Registry.from_settings(settings)
    registry.set_alias(MODEL, CHAMPION, "1")
    champion = settings.model_copy(update={"dense_model": f"models:/{MODEL}@{CHAMPION}"})
    # serving's search deployment, constructed as a replica constructs it
    serving = Search.func_or_class(champion).searcher.dense
    version = str(registry.local_path(f"models:/{MODEL}/1"))
    pinned = settings.model_copy(update={"dense_model": version})
    question = ["Кто такой Никола Тесла?"]
    vectors = serving.encode_queries(question)
    np.testing.assert_allclose(
        vectors, build_dense_encoder(pinned).encode_queries(question), atol=1e-6
    )
    base = build_dense_encoder(settings).encode_queries(question)
    assert not np.allclose(vectors, base, atol=1e-4), "the base model answered, not the version"

    ingest = make_settings(dense_model=champion.dense_model, registry_dir=settings.registry_dir)
    report = run_ingest(ingest, str(few_articles))
    assert report.chunks > 0 and not report.documents_failed
