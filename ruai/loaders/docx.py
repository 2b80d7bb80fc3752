"""DOCX: body paragraphs and tables in document order (python-docx). A table is kept as rows
under its caption (the paragraph just before it, or the last heading). Pages are numbered by the
page starts Word recorded when it last laid the document out (w:lastRenderedPageBreak) when it
has them, else by explicit page breaks; a document with neither has no pages."""

from __future__ import annotations

import io

import docx
from docx.oxml.ns import qn
from docx.table import Table as DocxTable
from docx.text.paragraph import Paragraph

from ruai.loaders.limits import UNLIMITED, ParseLimits
from ruai.loaders.package import check_package
from ruai.loaders.parsed import ParsedText, Section, Table

CAPTION_MAX_CHARS = 200
_PAGE_BREAK_BEFORE = qn("w:pageBreakBefore")
_RENDERED_BREAK = qn("w:lastRenderedPageBreak")
_TEXT, _BREAK, _TAB, _CARRIAGE_RETURN = qn("w:t"), qn("w:br"), qn("w:tab"), qn("w:cr")


def parse(data: bytes, limits: ParseLimits = UNLIMITED) -> ParsedText:
    check_package(data, limits, "DOCX", "word/document.xml")
    document = docx.Document(io.BytesIO(data))
    pages: list[list[str | Table]] = [[]]
    caption = heading = ""
    rendered = bool(document.element.body.findall(f".//{_RENDERED_BREAK}"))
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            pieces = _paragraph_pages(item, rendered)
            for i, piece in enumerate(pieces):
                if i:
                    pages.append([])
                pages[-1].append(piece)
            text = pieces[-1].strip()
            if text:
                caption = text if len(text) <= CAPTION_MAX_CHARS else ""
                if _is_heading(item):
                    heading = text
        elif isinstance(item, DocxTable):
            pages[-1].append(Table(_table_rows(item), context=caption or heading))
            caption = ""
    title = (document.core_properties.title or "").strip()
    if len(pages) == 1:
        return ParsedText(title=title, sections=[Section(pages[0])])
    sections = [Section(blocks, ("page", n)) for n, blocks in enumerate(pages, 1)]
    return ParsedText(title=title, sections=sections)


def _paragraph_pages(paragraph: Paragraph, rendered: bool) -> list[str]:
    """The paragraph's text, split where a page starts (``rendered``: where Word's last layout
    started one; else at an explicit page break or "page break before"): the first piece ends
    the current page."""
    pieces = [""]
    properties = paragraph._p.pPr
    if not rendered and properties is not None and properties.find(_PAGE_BREAK_BEFORE) is not None:
        pieces.append("")
    for child in paragraph._p.iter(_TEXT, _BREAK, _TAB, _CARRIAGE_RETURN, _RENDERED_BREAK):
        if child.tag == _TEXT:
            pieces[-1] += child.text or ""
        elif child.tag == _RENDERED_BREAK:
            if rendered:
                pieces.append("")
        elif child.tag == _BREAK and child.get(qn("w:type")) == "page":
            if not rendered:
                pieces.append("")
        else:
            pieces[-1] += " "
    if len(pieces) == 1:
        return [paragraph.text]
    return pieces


def _is_heading(paragraph: Paragraph) -> bool:
    style = paragraph.style.name.lower() if paragraph.style is not None else ""
    return style.startswith(("heading", "title", "заголовок", "caption"))


def _table_rows(table: DocxTable) -> list[list[str]]:
    """Cell texts per row; a merged cell is counted once."""
    rows = []
    for row in table.rows:
        cells = []
        seen = set()
        for cell in row.cells:
            if id(cell._tc) not in seen:
                seen.add(id(cell._tc))
                cells.append(cell.text.strip())
        rows.append(cells)
    return rows
