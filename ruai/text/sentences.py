"""Paragraph and sentence spans (razdel); no sentence crosses a blank line."""

from __future__ import annotations

import re

from razdel import sentenize

from ruai.text.morph import morph_analyzer

_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")
# a lowercase abbreviation's period (г., гг., в., тыс.) and the capitalised word after it
_ABBREVIATION_THEN_CAPITAL = re.compile(r"(?<![^\s(])[а-яё]{1,4}\.(?=\s+([А-ЯЁ][а-яё]+))")
# what razdel joins: «…в 1856 г. Умер…». A capitalised verb or pronoun right after an
# abbreviation begins a sentence; a noun or adjective may not («в 1943 г. Москва была…»)
_SENTENCE_OPENERS = frozenset({"VERB", "NPRO"})


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
        paragraph = text[para_start:para_end]
        paragraphs.append(
            [
                (para_start + start, para_start + end)
                for s in sentenize(paragraph)
                for start, end in _split_after_abbreviations(paragraph, s.start, s.stop)
            ]
        )
    return paragraphs


def _split_after_abbreviations(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Cut razdel's sentence ``text[start:end]`` where an abbreviation ends a sentence."""
    spans = []
    for match in _ABBREVIATION_THEN_CAPITAL.finditer(text, start, end):
        if morph_analyzer().parse(match.group(1).lower())[0].tag.POS in _SENTENCE_OPENERS:
            spans.append((start, match.end()))
            start = match.start(1)
    spans.append((start, end))
    return spans


def _stripped(text: str, start: int, end: int) -> list[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return [(start, end)] if start < end else []
