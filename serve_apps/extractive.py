"""ExtractiveGenerator: answers with the question's best-matching retrieved sentences (no LLM)."""

from __future__ import annotations

from ray import serve

from ruai.llm.extractive import ExtractiveAnswerer
from ruai.llm.passages import Passage
from ruai.settings import Settings
from ruai.text.lemmas import Lemmatizer


@serve.deployment(max_ongoing_requests=64)
class ExtractiveGenerator:
    def __init__(self, settings: Settings) -> None:
        lemmatizer = Lemmatizer(cache_size=settings.lemma_cache_size)
        self.answerer = ExtractiveAnswerer.from_settings(settings, lemmatizer)

    def answer(self, question: str, passages: list[Passage]) -> str:
        return self.answerer.answer(question, passages)
