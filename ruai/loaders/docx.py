"""DOCX: body paragraphs and table rows in document order (python-docx)."""

from __future__ import annotations

import io
import zipfile

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from ruai.loaders.errors import LoaderError
from ruai.loaders.parsed import ParsedText


def parse(data: bytes) -> ParsedText:
    _check_package(data)
    document = docx.Document(io.BytesIO(data))
    blocks: list[str] = []
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            blocks.append(item.text)
        elif isinstance(item, Table):
            blocks.extend(_table_rows(item))
    title = document.core_properties.title or ""
    return ParsedText("\n\n".join(blocks), title.strip())


def _check_package(data: bytes) -> None:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise LoaderError("corrupt DOCX: not a ZIP archive")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if "word/document.xml" not in archive.namelist():
            raise LoaderError("corrupt DOCX: the archive has no word/document.xml")


def _table_rows(table: Table) -> list[str]:
    """One line per row, cells separated by " | "; a merged cell is counted once."""
    rows = []
    for row in table.rows:
        cells = []
        seen = set()
        for cell in row.cells:
            if id(cell._tc) not in seen:
                seen.add(id(cell._tc))
                cells.append(cell.text.strip())
        rows.append(" | ".join(text for text in cells if text))
    return rows
