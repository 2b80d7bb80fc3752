"""What a format parser returns: raw text (normalized later), a title if the format has one, and
for formats with pages, slides, sheets or tables, the text as sections of blocks."""

from __future__ import annotations

from dataclasses import dataclass, field

from ruai.ingest.documents import Attachment, Place


@dataclass(frozen=True, slots=True)
class Table:
    """Rows of cell texts, the first non-empty one the header. ``caption``: the table's own
    (a sheet's name, an HTML caption), part of its text; ``context``: the heading or paragraph
    before it, already in the document's text. Every chunk of the table repeats both."""

    rows: list[list[str]]
    caption: str = ""
    context: str = ""


@dataclass(frozen=True, slots=True)
class Section:
    """A page, slide or sheet (``place``), or a run of text without one: paragraphs and tables
    in reading order."""

    blocks: list[str | Table]
    place: Place | None = None


@dataclass(frozen=True, slots=True)
class ParsedText:
    text: str = ""
    title: str = ""
    encoding: str | None = None  # for formats stored as encoded text
    # when given, the document's text is these (``text`` is then unused)
    sections: list[Section] = field(default_factory=list)
    ocr_pages: int = 0  # pages whose text came from OCR
    attachments: list[Attachment] = field(default_factory=list)  # of a readable format
