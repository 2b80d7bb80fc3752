"""The gpu-4090 profile end to end: USER-bge-m3 on a GPU fraction and Saiga Nemo 12B GPTQ through
ray.serve.llm's vLLM. Runs where CUDA and both models (local Hugging Face cache) are present."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest
import yaml

from ruai.settings import Settings
from tests.support.serve_app import ingest_tenants, running_app

pytestmark = pytest.mark.gpu
CONFIG = Path(__file__).resolve().parents[2] / "serve_apps/configs/gpu-4090.yaml"


def _cached(model_id: str) -> bool:
    from huggingface_hub import snapshot_download

    try:
        snapshot_download(model_id, local_files_only=True)
    except Exception:
        return False
    return True


@pytest.fixture(scope="module")
def gpu_args() -> dict:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    args = yaml.safe_load(CONFIG.read_text())["applications"][0]["args"]
    for model in (args["settings"]["llm_model"], "deepvk/USER-bge-m3"):
        if not _cached(model):
            pytest.skip(f"{model} is not in the local Hugging Face cache")
    return args


def test_saiga_answers_in_russian_with_citations(
    gpu_args, ray_cluster, sample_articles: Path, tmp_path: Path
) -> None:
    from raystore import release_store

    # the profile's Qdrant server is replaced by an embedded Edge shard in tmp_path
    overrides = {"store_backend": "edge", "qdrant_url": None, "dense_model": "deepvk/USER-bge-m3",
                 "qdrant_path": str(tmp_path / "qdrant"), "collection": "saiga",
                 "api_keys": {"key-gpu": "acme"}}  # fmt: skip
    settings = Settings(**overrides)
    ingest_tenants(settings, sample_articles, tmp_path / "docs", {"acme": ["04-nikola-tesla"]})
    args = gpu_args | {"settings": gpu_args["settings"] | overrides}
    try:
        with running_app(args, ready_timeout_s=900) as base:
            client = openai.OpenAI(base_url=f"{base}/v1", api_key="key-gpu", max_retries=0)
            response = client.chat.completions.create(
                model="rag-saiga",
                messages=[{"role": "user", "content": "В каком году умер Никола Тесла?"}],
            )
    finally:
        release_store(settings)
    text = response.choices[0].message.content
    assert "1943" in text and "[" in text
    assert response.model_extra["sources"]
