"""Resolving a registered version whose files are in object storage (a real S3 endpoint:
moto's server) into the registry's download cache, from two threads at once."""

from __future__ import annotations

import threading
from pathlib import Path

from ruai.lifecycle.registry import CHAMPION, Registry
from ruai.settings import Settings
from tests.conftest import free_port
from tests.support.s3 import local_s3, upload_folder

BUCKET = "models"


def test_two_resolvers_of_one_remote_version_share_one_cached_copy(tmp_path: Path, monkeypatch):
    import mlflow.artifacts

    model = tmp_path / "trained" / "model"
    model.mkdir(parents=True)
    (model / "config.json").write_text('{"dim": 8}')
    (model / "weights.bin").write_bytes(bytes(range(256)) * 64)
    settings = Settings(registry_dir=tmp_path / "registry")
    download = mlflow.artifacts.download_artifacts
    both_downloading = threading.Barrier(2, timeout=30)

    def download_together(**kwargs):
        """The real download, once both threads have found the version not yet cached."""
        both_downloading.wait()
        return download(**kwargs)

    with local_s3(free_port(), BUCKET) as env:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", env["AWS_ENDPOINT_URL"])
        upload_folder(env, model, BUCKET, "run-1/artifacts/model")
        version = Registry.from_settings(settings).register(
            "emb", f"s3://{BUCKET}/run-1/artifacts/model", {"kind": "embedder"}, alias=CHAMPION
        )
        monkeypatch.setattr(mlflow.artifacts, "download_artifacts", download_together)
        results: list[Path | BaseException] = []

        def resolve() -> None:
            try:
                results.append(Registry.from_settings(settings).local_path(version))
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                results.append(exc)

        threads = [threading.Thread(target=resolve) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert not [r for r in results if isinstance(r, BaseException)], results
    first, second = results
    assert first == second
    assert (first / "config.json").read_text() == '{"dim": 8}'
    assert (first / "weights.bin").read_bytes() == (model / "weights.bin").read_bytes()
    cache = settings.registry_dir.resolve() / "cache" / "emb"
    assert first.is_relative_to(cache)
    assert [p.name for p in cache.iterdir()] == [version.version]  # no partial copy left
