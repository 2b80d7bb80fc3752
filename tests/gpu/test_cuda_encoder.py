"""The sentence-transformers encoder on CUDA: what ingestion's GPU embedding actors and the
serving Search deployment run. Skipped without CUDA; run on a GPU machine."""

from __future__ import annotations

import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
]

MODEL = os.environ.get("RUAI_GPU_TEST_MODEL", "all-MiniLM-L6-v2")
TEXTS = [
    "Никола Тесла умер 7 января 1943 года в Нью-Йорке.",
    "Варшава — столица Польши, расположенная на реке Висле.",
    "Норманны дали своё имя Нормандии, региону во Франции.",
] * 20


@pytest.fixture(scope="module")
def encoders():
    from ruai.encoders.sentence_transformer import SentenceTransformerEncoder

    return (
        SentenceTransformerEncoder(MODEL, device="cuda", batch_size=32),
        SentenceTransformerEncoder(MODEL, device="cpu", batch_size=32),
    )


def test_cuda_is_the_default_device_when_present():
    from ruai.encoders.sentence_transformer import default_device

    assert default_device() == "cuda"


def test_cuda_embeddings_match_cpu(encoders):
    cuda, cpu = encoders
    on_gpu, on_cpu = cuda.encode_passages(TEXTS), cpu.encode_passages(TEXTS)
    assert on_gpu.shape == on_cpu.shape == (len(TEXTS), cuda.dim)
    assert on_gpu.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(on_gpu, axis=1), 1.0, atol=1e-3)
    cosine = np.sum(on_gpu * on_cpu, axis=1)
    assert cosine.min() > 0.99


def test_cuda_query_finds_its_passage(encoders):
    cuda, _ = encoders
    passages = cuda.encode_passages(TEXTS[:3])
    query = cuda.encode_queries(["Когда умер Тесла?"])[0]
    assert int(np.argmax(passages @ query)) == 0
