"""Paragraph and sentence spans (razdel); no sentence crosses a blank line."""

from __future__ import annotations

import re

from razdel import sentenize

_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each paragraph, stripped of surrounding whitespace."""
    spans = []
    start = 0
    for match in _PARAGRAPH_BREAK.finditer(text):
        spans.extend(_stripped(text, start, match.start()))
        start = match.end()
    spans.extend(_stripped(text, start, len(text)))
    return spans


def split_sentences(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence, in order; whitespace between sentences is left out."""
    return [span for paragraph in sentences_by_paragraph(text) for span in paragraph]


def sentences_by_paragraph(text: str) -> list[list[tuple[int, int]]]:
    """The sentence spans of each paragraph."""
    paragraphs = []
    for para_start, para_end in paragraph_spans(text):
        sentences = sentenize(text[para_start:para_end])
        paragraphs.append([(para_start + s.start, para_start + s.stop) for s in sentences])
    return paragraphs


def _stripped(text: str, start: int, end: int) -> list[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return [(start, end)] if start < end else []
