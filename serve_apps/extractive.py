"""The extractive answerer (no LLM): the question's best-matching retrieved sentences.
``ExtractiveService`` is the work; ``ExtractiveGenerator`` its deployment. With
``generator_in_ingress`` (the local profile) the ingress holds an ``ExtractiveService`` itself."""

from __future__ import annotations

from ray import serve

from ruai.llm.extractive import ExtractiveAnswerer
from ruai.llm.passages import Passage
from ruai.settings import Settings
from ruai.text.lemmas import Lemmatizer


class ExtractiveService:
    def __init__(self, settings: Settings) -> None:
        lemmatizer = Lemmatizer(cache_size=settings.lemma_cache_size)
        self.answerer = ExtractiveAnswerer.from_settings(settings, lemmatizer)

    def answer(self, question: str, passages: list[Passage]) -> str:
        return self.answerer.answer(question, passages)


ExtractiveGenerator = serve.deployment(name="ExtractiveGenerator", max_ongoing_requests=64)(
    ExtractiveService
)
