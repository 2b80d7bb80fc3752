"""The RayJob entrypoints of cluster_configs/kuberay run, as written, on a real local Ray cluster:
cluster paths (/data/...) point at small local inputs, the local profile replaces gpu-4090, and
each entrypoint runs as a subprocess driver with RAY_ADDRESS set, like `ray job submit` does."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cluster_configs.toolchain.layout import REPO
from cluster_configs.toolchain.manifests import kubernetes_manifests

pytestmark = pytest.mark.integration

CLUSTER_DATA = "/data/"
RAYJOBS = {
    m.doc["metadata"]["name"]: m.doc["spec"]
    for m in kubernetes_manifests(REPO)
    if m.doc["kind"] == "RayJob"
}


class LocalJob:
    """A RayJob's entrypoint and runtime env with /data/ moved under ``tmp/data``."""

    def __init__(self, name: str, tmp: Path) -> None:
        self.spec = RAYJOBS[name]
        self.data = tmp / "data"
        self.cwd = tmp
        argv = shlex.split(self.spec["entrypoint"])
        assert argv[:2] == ["python", "-m"], self.spec["entrypoint"]
        self.argv = [sys.executable, "-m", *map(self.localize, argv[2:])]

    def localize(self, value: str) -> str:
        return (
            str(self.data / value.removeprefix(CLUSTER_DATA))
            if value.startswith(CLUSTER_DATA)
            else value
        )

    def option(self, name: str) -> Path:
        return Path(self.argv[self.argv.index(name) + 1])

    def shrink(self, flags: dict[str, str], values: dict[str, str]) -> None:
        """Swap flags (``--use-gpu`` -> ``--no-gpu``) and set option values for a small run."""
        self.argv = [flags.get(a, a) for a in self.argv]
        for name, value in values.items():
            self.argv[self.argv.index(name) + 1] = value

    def run(self, ray_cluster: dict, overrides: dict[str, str]) -> None:
        runtime_env = yaml.safe_load(self.spec["runtimeEnvYAML"])["env_vars"]
        env = {k: self.localize(v) for k, v in runtime_env.items()}
        env = os.environ | env | {"RUAI_PROFILE": "local"} | overrides
        env["RAY_ADDRESS"] = ray_cluster["address"]
        result = subprocess.run(
            self.argv, env=env, cwd=self.cwd, capture_output=True, text=True, timeout=400
        )
        assert result.returncode == 0, f"{shlex.join(self.argv)}:\n{result.stderr[-3000:]}"


def test_ingest_entrypoint_runs_on_the_cluster(ray_cluster, sample_articles, tmp_path):
    from raystore import release_store, store_for
    from ruai.settings import Settings

    job = LocalJob("ruai-ingest", tmp_path)
    docs = Path(job.argv[3])
    docs.mkdir(parents=True)
    for article in sorted(sample_articles.glob("*.md"))[:2]:
        shutil.copy(article, docs / article.name)
    qdrant = tmp_path / "qdrant"
    collection = str(job.option("--collection"))

    job.run(ray_cluster, {"RUAI_QDRANT_PATH": str(qdrant)})

    settings = Settings(profile="local", qdrant_path=qdrant, collection=collection)
    try:
        report = json.loads(job.option("--report").read_text(encoding="utf-8"))
        assert report["files_seen"] == report["documents_ok"] == 2
        assert report["documents_failed"] == []
        assert report["points_written"] == report["chunks"] > 0
        # the job's store owner actor outlives the driver: the points are really there
        assert store_for(settings).count(collection) == report["points_total"]
    finally:
        release_store(settings)


# the smallest training run: the packaged sentence-transformers model, CPU, one short epoch
SMALL_TRAINING = {
    "RUAI_DENSE_MODEL": "all-MiniLM-L6-v2",
    "RUAI_TRAIN_USE_GPU": "false",
    "RUAI_TRAIN_NUM_WORKERS": "1",
    "RUAI_TRAIN_CPUS_PER_WORKER": "1",
    "RUAI_TRAIN_EPOCHS": "1",
    "RUAI_TRAIN_BATCH_SIZE": "4",
    "RUAI_TRAIN_MAX_SEQ_LENGTH": "32",
    "RUAI_TRAIN_VALIDATION_FRACTION": "0.5",
    "RUAI_TRAIN_RECALL_K": "3",
}


def tiny_dataset(job: LocalJob, xquad_path: Path) -> None:
    from tests.support.tiny_squad import write_tiny_squad

    dataset = job.option("--dataset")
    dataset.parent.mkdir(parents=True)
    write_tiny_squad(xquad_path, dataset, articles=2, questions_per_article=6)


def test_finetune_embedder_entrypoint_runs_on_the_cluster(ray_cluster, xquad_path, tmp_path):
    from ruai.encoders.factory import build_dense_encoder
    from ruai.settings import Settings

    job = LocalJob("ruai-finetune-embedder", tmp_path)
    tiny_dataset(job, xquad_path)

    job.run(ray_cluster, SMALL_TRAINING)

    assert (tmp_path / "data" / "ray-results").is_dir()  # RUAI_TRAIN_STORAGE_PATH of the job
    # the output is what RUAI_DENSE_MODEL can name for ingestion and serving
    encoder = build_dense_encoder(Settings(dense_model=str(job.option("--output"))))
    assert encoder.encode_queries(["Кто такой Никола Тесла?"]).shape == (1, 384)


def test_tune_embedder_entrypoint_runs_on_the_cluster(ray_cluster, xquad_path, tmp_path):
    job = LocalJob("ruai-tune-embedder", tmp_path)
    tiny_dataset(job, xquad_path)
    job.shrink(
        flags={"--use-gpu": "--no-gpu", "--optuna": "--no-optuna"},
        values={"--num-samples": "1", "--max-epochs": "1", "--max-concurrent": "1"},
    )

    job.run(ray_cluster, SMALL_TRAINING)

    trials = (job.option("--output") / "trials.csv").read_text(encoding="utf-8").splitlines()
    assert len(trials) == 2  # the header and the one trial


def test_monitor_entrypoint_runs_on_the_cluster(ray_cluster, tmp_path):
    """The monitoring RayJob over a small query log (too few questions to test drift: exit 0)."""
    from datetime import UTC, datetime

    import pyarrow.parquet as pq

    from ruai.lifecycle.query_log import QueryRecord, records_to_table

    job = LocalJob("ruai-monitor", tmp_path)
    log_dir = tmp_path / "data" / "query-log" / f"date={datetime.now(UTC):%Y-%m-%d}"
    log_dir.mkdir(parents=True)
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    records = [
        QueryRecord.of(q, ts_ms=now_ms - 60_000, tenant="acme", endpoint="/v1/search",
                       latency_ms=2.0, status=200, collection="documents", scores=(0.8,))
        for q in ("Когда умер Тесла?", "Где находится Варшава?")
    ]  # fmt: skip
    pq.write_table(records_to_table(records), log_dir / "part-0.parquet")

    job.run(ray_cluster, {"RUAI_CONVERSATIONS_PATH": str(tmp_path / "c.sqlite3")})

    summary = json.loads((job.option("--output") / "monitor-summary.json").read_text())
    assert summary["questions"] == 2 and summary["triggers"] == []
    assert summary["groups"][0]["tenant"] == "acme" and not summary["groups"][0]["tested"]
    assert (job.option("--output") / "top1-scores.png").is_file()  # logged to MLflow too
