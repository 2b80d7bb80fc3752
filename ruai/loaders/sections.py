"""Sections of blocks -> a document's normalized text and its parts: paragraphs separated by one
blank line as ``normalize_text`` leaves them, a table as its caption, header and one line per row
(cells separated by " | "), each row a paragraph of its own."""

from __future__ import annotations

from ruai.ingest.documents import Part, TableLayout
from ruai.loaders.parsed import Section, Table
from ruai.text.normalize import normalize_text

_PARAGRAPH = "\n\n"
CELL_SEPARATOR = " | "


def assemble(sections: list[Section]) -> tuple[str, list[Part]]:
    pieces: list[str] = []
    parts: list[Part] = []
    position = 0
    for section in sections:
        for block in section.blocks:
            if isinstance(block, Table):
                text, heading, rows = _table_text(block)
            else:
                text, heading, rows = normalize_text(block), "", []
            if not text:
                continue
            if pieces:
                position += len(_PARAGRAPH)
            start, end = position, position + len(text)
            pieces.append(text)
            position = end
            if rows:
                spans = tuple((start + a, start + b) for a, b in rows)
                parts.append(Part(start, end, section.place, TableLayout(heading, spans)))
            elif parts and parts[-1].table is None and parts[-1].place == section.place:
                parts[-1] = Part(parts[-1].start, end, section.place)
            else:
                parts.append(Part(start, end, section.place))
    return _PARAGRAPH.join(pieces), parts


def _table_text(table: Table) -> tuple[str, str, list[tuple[int, int]]]:
    """The table's text, the heading its chunks repeat (caption + header row) and the spans of
    the rows after the header in that text. A table of one row is plain text."""
    lines = [line for line in (_row_line(row) for row in table.rows) if line]
    caption = _one_line(table.caption)
    if len(lines) < 2:
        return _PARAGRAPH.join(filter(None, [caption, *lines])), "", []
    header, rows = lines[0], lines[1:]
    heading = "\n".join(filter(None, [_one_line(table.context), caption, header]))
    text = _PARAGRAPH.join(filter(None, [caption, header]))
    spans = []
    for row in rows:
        text += _PARAGRAPH
        spans.append((len(text), len(text) + len(row)))
        text += row
    return text, heading, spans


def _row_line(cells: list[str]) -> str:
    texts = [_one_line(cell) for cell in cells]
    while texts and not texts[-1]:
        texts.pop()
    return CELL_SEPARATOR.join(texts) if any(texts) else ""


def _one_line(text: str) -> str:
    return " ".join(normalize_text(text).split())
