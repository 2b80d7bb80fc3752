"""Parse + chunk: the part of a document's processing whose cost depends on what the file holds
(markup depth, compression, page count, line lengths) rather than on how much text it yields.
It checks the per-document limits as it goes; ``ruai.ingest.isolated_extraction`` runs it in a
child process that can be killed, so a parser that cannot be interrupted still ends on time."""

from __future__ import annotations

from dataclasses import dataclass

from ruai.encoders.model_info import TokenCounter, build_token_counter
from ruai.ingest.documents import Document, Part
from ruai.lifecycle.registry import resolve_dense_model
from ruai.loaders import ParseLimits, load_document
from ruai.loaders.limits import check_limit
from ruai.settings import Settings
from ruai.text.chunking import TextSpan, chunk_table, chunk_text


@dataclass(slots=True)
class Extraction:
    document: Document
    spans: list[TextSpan]


class Extractor:
    """``extractor(source, data)`` → :class:`Extraction`, or a ``LoaderError`` with the reason
    (a ``LimitExceededError`` past a limit)."""

    def __init__(self, settings: Settings, count_tokens: TokenCounter, max_tokens: int) -> None:
        self.limits = ParseLimits.from_settings(settings)
        self.max_chunks = settings.max_chunks_per_doc
        self.overlap = settings.chunk_overlap_sentences
        self.count_tokens = count_tokens
        self.max_tokens = min(settings.chunk_max_tokens, max_tokens)

    @classmethod
    def from_settings(cls, settings: Settings) -> Extractor:
        return cls(settings, *build_token_counter(resolve_dense_model(settings)))

    def __call__(self, source: str, data: bytes) -> Extraction:
        document = load_document(source, data, self.limits)
        # chunks hold at most max_tokens each: a text with more tokens than the chunk limit can
        # hold is refused before the (superlinear on one endless sentence) chunking
        at_least = -(-self.count_tokens(document.text) // self.max_tokens)
        check_limit("max_chunks_per_doc", self.max_chunks, at_least, "chunks, at least")
        spans = self.chunk(document)
        check_limit("max_chunks_per_doc", self.max_chunks, len(spans), "chunks")
        return Extraction(document, spans)

    def chunk(self, document: Document) -> list[TextSpan]:
        """Each part on its own (a page, a slide, a table by rows), so a chunk knows its place."""
        parts = document.parts or [Part(0, len(document.text))]
        return [span for part in parts for span in self._chunk_part(document.text, part)]

    def _chunk_part(self, text: str, part: Part) -> list[TextSpan]:
        if part.table is not None:
            spans = chunk_table(
                text, part.table.heading, part.table.rows, self.max_tokens, self.count_tokens
            )
        else:
            spans = [
                TextSpan(part.start + s.start, part.start + s.end, s.text)
                for s in chunk_text(
                    text[part.start : part.end],
                    max_tokens=self.max_tokens,
                    count_tokens=self.count_tokens,
                    overlap_sentences=self.overlap,
                )
            ]
        return [TextSpan(s.start, s.end, s.text, part.place) for s in spans]
