"""Passages as the index holds them: a paragraph cut into the chunks ingestion would make for
the embedder being trained (the same chunker, token counter and limit).

A SQuAD paragraph is often several times longer than a small encoder's window (XQuAD-ru: a
median of 630 all-MiniLM-L6-v2 tokens against its 256): trained on whole paragraphs, the model
would be asked to match questions to text cut off before their answer. Training pairs use the
chunk that holds the answer; recall ranks paragraphs by their best chunk.
"""

from __future__ import annotations

from pathlib import Path

from ruai.settings import Settings
from ruai.text.chunking import TextSpan, TokenCounter, chunk_text


class PassageChunker:
    def __init__(self, count_tokens: TokenCounter, max_tokens: int, overlap_sentences: int) -> None:
        self.count_tokens = count_tokens
        self.max_tokens = max_tokens
        self.overlap_sentences = overlap_sentences
        self._spans: dict[str, list[TextSpan]] = {}

    @classmethod
    def for_model(cls, settings: Settings, model_dir: Path) -> PassageChunker:
        """Chunks as ``jobs.ingest`` cuts them when ``model_dir`` is the dense model."""
        from ruai.encoders.model_info import build_token_counter

        model = settings.model_copy(update={"dense_model": str(model_dir)})
        count_tokens, model_max = build_token_counter(model)
        limit = min(settings.chunk_max_tokens, model_max)
        return cls(count_tokens, limit, settings.chunk_overlap_sentences)

    def spans(self, context: str) -> list[TextSpan]:
        """The chunks of one paragraph (offsets index into ``context``), cached."""
        if context not in self._spans:
            spans = chunk_text(context, self.max_tokens, self.count_tokens, self.overlap_sentences)
            self._spans[context] = [s for s in spans if s.text.replace("\ufeff", "").strip()]
        return self._spans[context]

    def chunks(self, context: str) -> list[str]:
        return [_clean(span.text) for span in self.spans(context)]

    def answer_chunk(self, context: str, answer_start: int | None) -> str:
        """The first chunk that holds the answer's first character; the paragraph's first
        chunk when the answer's place is unknown."""
        spans = self.spans(context)
        if not spans:
            return ""
        if answer_start is not None:
            for span in spans:
                if span.start <= answer_start < span.end:
                    return _clean(span.text)
        return _clean(spans[0].text)


def _clean(text: str) -> str:
    return text.replace("\ufeff", "").strip()
