"""ODT and ODS (OpenDocument), read from the package's content.xml: an ODT's headings,
paragraphs, lists and tables (each under the paragraph before it); an ODS's sheets, each a
section whose rows are a table under its header row."""

from __future__ import annotations

from lxml import etree

from ruai.loaders.limits import UNLIMITED, ParseLimits
from ruai.loaders.package import check_package, read_xml
from ruai.loaders.parsed import ParsedText, Section, Table
from ruai.loaders.sheets import sheet_section

_NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
}
_TEXT = f"{{{_NS['text']}}}"
_TABLE = f"{{{_NS['table']}}}"
_PARAGRAPHS = (f"{_TEXT}p", f"{_TEXT}h")
# repeated empty rows and cells pad a sheet to its full size (1 048 576 rows): a filled one is
# repeated at most this often
MAX_REPEAT = 1000
CAPTION_MAX_CHARS = 200


def parse(data: bytes, limits: ParseLimits = UNLIMITED) -> ParsedText:
    check_package(data, limits, "OpenDocument", "content.xml")
    body = read_xml(data, "content.xml").find("office:body", _NS)
    if body is None:
        return ParsedText()
    spreadsheet = body.find("office:spreadsheet", _NS)
    if spreadsheet is not None:
        sheets = spreadsheet.iterfind("table:table", _NS)
        return ParsedText(
            sections=[sheet_section(t.get(f"{_TABLE}name", ""), _rows(t)) for t in sheets]
        )
    return ParsedText(sections=[Section(_text_blocks(body))])


def _text_blocks(body: etree._Element) -> list[str | Table]:
    blocks: list[str | Table] = []
    caption = ""
    for element in body.iter(*_PARAGRAPHS, f"{_TABLE}table"):
        if _inside_table(element):
            continue
        if element.tag == f"{_TABLE}table":
            blocks.append(Table(list(_rows(element)), context=caption))
            caption = ""
        else:
            text = _text(element)
            blocks.append(text)
            if text.strip():
                caption = text.strip() if len(text) <= CAPTION_MAX_CHARS else ""
    return blocks


def _inside_table(element: etree._Element) -> bool:
    return any(parent.tag == f"{_TABLE}table-cell" for parent in element.iterancestors())


def _rows(table: etree._Element):
    for row in table.iter(f"{_TABLE}table-row"):
        cells: list[str] = []
        for cell in row.iterfind("table:table-cell", _NS):
            text = " ".join(_text(p) for p in cell.iter(*_PARAGRAPHS))
            repeat = int(cell.get(f"{_TABLE}number-columns-repeated", "1"))
            cells.extend([text] * (min(repeat, MAX_REPEAT) if text else min(repeat, 1)))
        repeat = int(row.get(f"{_TABLE}number-rows-repeated", "1"))
        if any(cells):
            for _ in range(min(repeat, MAX_REPEAT)):
                yield cells


def _text(element: etree._Element) -> str:
    """A paragraph's text: spaces (text:s), tabs and line breaks as spaces, notes left out."""
    out = [element.text or ""]
    for child in element:
        tag = child.tag
        if tag == f"{_TEXT}s":
            out.append(" " * min(int(child.get(f"{_TEXT}c", "1")), 8))
        elif tag in (f"{_TEXT}tab", f"{_TEXT}line-break"):
            out.append(" ")
        elif tag != f"{_TEXT}note":
            out.append(_text(child))
        out.append(child.tail or "")
    return "".join(out)
