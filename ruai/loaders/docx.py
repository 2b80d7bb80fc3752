"""DOCX: body paragraphs and table rows in document order (python-docx)."""

from __future__ import annotations

import io
import zipfile

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph
from lxml import etree

from ruai.loaders.errors import LoaderError
from ruai.loaders.limits import UNLIMITED, ParseLimits, check_limit
from ruai.loaders.parsed import ParsedText

_BODY = "word/document.xml"


def parse(data: bytes, limits: ParseLimits = UNLIMITED) -> ParsedText:
    _check_package(data, limits)
    document = docx.Document(io.BytesIO(data))
    blocks: list[str] = []
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            blocks.append(item.text)
        elif isinstance(item, Table):
            blocks.extend(_table_rows(item))
    title = document.core_properties.title or ""
    return ParsedText("\n\n".join(blocks), title.strip())


def _check_package(data: bytes, limits: ParseLimits) -> None:
    """A ZIP with a body, within the limits, checked before python-docx unpacks every part into
    memory. The sizes in the ZIP directory are binding: Python's zipfile stops reading a member
    at its declared size (and fails its CRC), so a lying header cannot unpack more."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise LoaderError("corrupt DOCX: not a ZIP archive")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()
        check_limit("max_zip_members", limits.max_zip_members, len(members), "ZIP members")
        unzipped = sum(member.file_size for member in members)
        check_limit("max_unzipped_bytes", limits.max_unzipped_bytes, unzipped, "unzipped bytes")
        if _BODY not in archive.namelist():
            raise LoaderError(f"corrupt DOCX: the archive has no {_BODY}")
        if limits.max_markup_depth is not None:
            with archive.open(_BODY) as body:
                _check_depth(body, limits.max_markup_depth)


def _check_depth(body, limit: int) -> None:
    """Stream the body's XML, stopping as soon as it nests deeper than ``limit``."""
    depth = 0
    for event, element in etree.iterparse(
        body, events=("start", "end"), huge_tree=True, resolve_entities=False, no_network=True
    ):
        if event == "start":
            depth += 1
            check_limit("max_markup_depth", limit, depth, "XML nesting depth")
        else:
            depth -= 1
            element.clear()


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
