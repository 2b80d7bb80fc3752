"""The learned query projection on real navec vectors (issue 16): fitting, the encoder option,
and the all-chunk linear fusion the retrieval benchmark cross-validates it with."""

from __future__ import annotations

import numpy as np
import pytest

from ruai.encoders.base import ModelNotFoundError
from ruai.encoders.factory import build_dense_encoder
from ruai.encoders.navec import NavecEncoder
from ruai.encoders.projected import ProjectedQueryEncoder
from ruai.eval.projection_fit import fit_query_projection, projection_loss
from ruai.eval.score_fusion import linear_fusion, paragraph_rankings, without_components
from ruai.settings import Settings
from ruai.text.lemmas import Lemmatizer

PASSAGES = [
    "Домашние кошки питаются мясом и рыбой и охотятся на мышей.",
    "Фондовый рынок вырос после того, как центральный банк снизил ключевую ставку.",
    "Сборная забила два гола во втором тайме и вышла в финал чемпионата мира.",
]
# each question is paired with a passage navec does NOT find for it (a rotation of the topics)
QUESTIONS = [
    "Чем питаются кошки?",
    "Почему вырос фондовый рынок?",
    "Сколько голов забила сборная?",
]
PAIRED = [1, 2, 0]


@pytest.fixture(scope="module")
def navec() -> NavecEncoder:
    return NavecEncoder(Lemmatizer(cache_size=1_000))


def test_fit_learns_pairs_the_base_encoder_misses(navec):
    queries = navec.encode_queries(QUESTIONS)
    passages = navec.encode_passages(PASSAGES)
    assert (np.argmax(queries @ passages.T, axis=1) == np.arange(3)).all()
    positives = np.zeros((3, 3), dtype=bool)
    positives[np.arange(3), PAIRED] = True

    weights = fit_query_projection(queries, passages, positives, l2=1e-3, steps=200)

    assert weights.shape == (navec.dim, navec.dim)
    identity = np.eye(navec.dim)
    before = projection_loss(identity, queries, passages, positives)
    assert projection_loss(weights, queries, passages, positives) < before / 4
    assert (np.argmax((queries @ weights.T) @ passages.T, axis=1) == PAIRED).all()
    # a strong penalty keeps the base encoder: the pairs barely move it
    held = fit_query_projection(queries, passages, positives, l2=1e3, steps=50)
    assert np.abs(held - identity).max() < 1e-2


def test_fit_rejects_a_question_without_a_positive(navec):
    vectors = navec.encode_queries(QUESTIONS)
    positives = np.eye(3, dtype=bool)
    positives[2, 2] = False
    with pytest.raises(ValueError, match="positive"):
        fit_query_projection(vectors, vectors, positives)


def test_projected_option_maps_queries_only(navec, tmp_path):
    rng = np.random.default_rng(0)
    weights = (np.eye(navec.dim) + 0.1 * rng.standard_normal((navec.dim, navec.dim))).astype(
        np.float32
    )
    path = tmp_path / "w.npy"
    np.save(path, weights)
    settings = Settings(dense_model=f"navec-projected:{path}")

    encoder = build_dense_encoder(settings)

    assert isinstance(encoder, ProjectedQueryEncoder) and encoder.name == settings.dense_model
    np.testing.assert_allclose(
        encoder.encode_passages(PASSAGES), navec.encode_passages(PASSAGES), atol=1e-6
    )
    expected = navec.encode_queries(QUESTIONS) @ weights.T
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(encoder.encode_queries(QUESTIONS), expected, atol=1e-5)

    with pytest.raises(ValueError, match="300-d"):
        ProjectedQueryEncoder(navec, weights[:10], settings.dense_model)
    with pytest.raises(ModelNotFoundError):
        build_dense_encoder(Settings(dense_model=f"navec-projected:{tmp_path / 'none.npy'}"))


def test_all_chunk_fusion_ranks_paragraphs_by_their_best_chunk():
    sparse = np.array([[3.0, 0.0, 2.9, 1.0]])
    queries = np.array([[1.0, 0.0]])
    passages = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    chunk_paragraphs = ["a", "b", "b", None]

    assert paragraph_rankings(linear_fusion(queries, passages, sparse, 0.0), chunk_paragraphs) == [
        ["a", "b"]
    ]
    fused = linear_fusion(queries, passages, sparse, 0.5)  # b's second chunk: 2.9 + 0.5
    assert paragraph_rankings(fused, chunk_paragraphs, k=1) == [["b"]]


def test_removing_the_passages_top_component(navec):
    queries = navec.encode_queries(QUESTIONS)
    passages = navec.encode_passages(PASSAGES)
    kept_queries, kept = without_components(queries, passages, 0)
    assert kept_queries is queries and kept is passages

    stripped_queries, stripped = without_components(queries, passages, 1)

    top = np.linalg.svd(passages, full_matrices=False)[2][0]
    assert np.abs(stripped @ top).max() < 1e-5 and np.abs(stripped_queries @ top).max() < 1e-5
    np.testing.assert_allclose(np.linalg.norm(stripped, axis=1), 1.0, atol=1e-5)
