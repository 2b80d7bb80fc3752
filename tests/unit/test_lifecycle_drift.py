"""Drift statistics on real navec embeddings of XQuAD-ru questions and paragraphs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from ruai.encoders.factory import build_dense_encoder
from ruai.eval.squad import SquadDataset, read_squad
from ruai.lifecycle.drift import language_shares, mmd_test, score_ks_test
from ruai.settings import Settings

ENGLISH = [
    "What is the capital of France?",
    "Who wrote the book about the war?",
    "When did the Second World War end?",
    "How many people live in the city?",
    "Which team won the championship last year?",
    "Where was the first university founded?",
    "What did the scientist discover?",
    "Why did the empire collapse?",
    "Who was the president of the company?",
    "How long is the river?",
]


@pytest.fixture(scope="module")
def dataset(xquad_path: Path) -> SquadDataset:
    return read_squad(xquad_path)


@pytest.fixture(scope="module")
def encoded(dataset: SquadDataset) -> dict[str, np.ndarray]:
    """Question and paragraph embeddings, with each question's and paragraph's article index."""
    encoder = build_dense_encoder(Settings())
    return {
        "questions": encoder.encode_queries([q.question for q in dataset.questions]),
        "question_articles": np.array([q.article_index for q in dataset.questions]),
        "paragraphs": encoder.encode_passages([p.context for p in dataset.paragraphs]),
        "paragraph_articles": np.array([p.article_index for p in dataset.paragraphs]),
    }


def test_mmd_fires_on_questions_about_other_articles(encoded: dict[str, np.ndarray]) -> None:
    questions, articles = encoded["questions"], encoded["question_articles"]
    reference = questions[articles < 4][:60]
    current = questions[(articles >= 12) & (articles < 16)][:60]
    result = mmd_test(reference, current, permutations=200, seed=0)
    assert result.drifted and result.p_value < 0.05
    assert result.mmd2 > 0 and result.bandwidth > 0


def test_mmd_is_quiet_on_a_random_split(encoded: dict[str, np.ndarray]) -> None:
    questions = encoded["questions"]
    order = np.random.default_rng(7).permutation(len(questions))
    result = mmd_test(questions[order[:80]], questions[order[80:160]], seed=0)
    assert not result.drifted and result.p_value >= 0.05
    # The same seed gives the same p-value; the unbiased estimate is near 0 without drift.
    again = mmd_test(questions[order[:80]], questions[order[80:160]], seed=0)
    assert again.p_value == result.p_value
    assert abs(result.mmd2) < mmd_test(questions[:60], questions[-60:]).mmd2


@pytest.mark.parametrize(("permutations", "alpha"), [(20, 0.01), (99, 0.01), (49, 0.02)])
def test_settings_refuse_permutations_that_cannot_reach_alpha(permutations, alpha) -> None:
    """The smallest permutation p-value is 1/(1 + permutations): not below alpha, the drift test
    could never fire."""
    with pytest.raises(ValidationError, match="RUAI_MONITOR_PERMUTATIONS=.* RUAI_MONITOR_ALPHA="):
        Settings(monitor_permutations=permutations, monitor_alpha=alpha)


@pytest.mark.parametrize(("permutations", "alpha"), [(200, 0.01), (100, 0.01), (20, 0.05)])
def test_accepted_monitor_settings_report_drift(encoded, permutations, alpha) -> None:
    settings = Settings(monitor_permutations=permutations, monitor_alpha=alpha)
    questions, articles = encoded["questions"], encoded["question_articles"]
    result = mmd_test(
        questions[articles < 4][:60],
        questions[(articles >= 12) & (articles < 16)][:60],
        alpha=settings.monitor_alpha,
        permutations=settings.monitor_permutations,
    )
    assert result.drifted


def test_mmd_rejects_mismatched_samples() -> None:
    with pytest.raises(ValueError, match="dimension"):
        mmd_test(np.zeros((5, 3)), np.zeros((5, 4)))


def _top1_scores(questions: np.ndarray, paragraphs: np.ndarray) -> np.ndarray:
    return (questions @ paragraphs.T).max(axis=1)


def test_ks_fires_when_the_corpus_lacks_the_subject(encoded: dict[str, np.ndarray]) -> None:
    questions, q_articles = encoded["questions"], encoded["question_articles"]
    paragraphs, p_articles = encoded["paragraphs"], encoded["paragraph_articles"]
    # Reference: questions whose articles are indexed; current: questions about articles that
    # are missing from the index, so their best match is a paragraph of another subject.
    reference = _top1_scores(questions[q_articles < 12], paragraphs)
    current = _top1_scores(questions[q_articles >= 12], paragraphs[p_articles < 12])
    assert np.median(current) < np.median(reference)
    result = score_ks_test(reference, current)
    assert result.drifted and result.p_value < 0.05 and result.statistic > 0.3

    order = np.random.default_rng(3).permutation(len(reference))
    half = len(order) // 2
    same = score_ks_test(reference[order[:half]], reference[order[half:]])
    assert not same.drifted and same.p_value >= 0.05


def test_language_shares_of_russian_and_english_questions(dataset: SquadDataset) -> None:
    russian = [q.question for q in dataset.questions[100:160]]
    ru = language_shares(russian)
    assert ru.non_cyrillic_share == 0.0 and ru.unknown_word_share < 0.2 and not ru.drifted
    assert ru.questions == 60 and ru.words > 300

    en = language_shares(ENGLISH)
    assert en.non_cyrillic_share == 1.0 and en.unknown_word_share > 0.9 and en.drifted

    mixed = language_shares(russian[:40] + ENGLISH)
    assert mixed.non_cyrillic_share == pytest.approx(10 / 50)
    assert ru.unknown_word_share < mixed.unknown_word_share < en.unknown_word_share
    assert mixed.drifted  # 20 % non-Cyrillic questions is above the default 10 %
    loose = {"max_unknown_word_share": 0.3, "max_non_cyrillic_share": 0.25}
    assert not language_shares(russian[:40] + ENGLISH, **loose).drifted
    assert language_shares(
        russian[:40] + ENGLISH, **{**loose, "max_unknown_word_share": 0.2}
    ).drifted
