"""XLSX: each sheet a section, its rows a table under its header row (openpyxl, values as last
computed by the program that saved the file)."""

from __future__ import annotations

import io

import openpyxl

from ruai.loaders.limits import UNLIMITED, ParseLimits
from ruai.loaders.package import check_package
from ruai.loaders.parsed import ParsedText
from ruai.loaders.sheets import cell_text, sheet_section


def parse(data: bytes, limits: ParseLimits = UNLIMITED) -> ParsedText:
    check_package(data, limits, "XLSX", "xl/workbook.xml")
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sections = [
            sheet_section(
                sheet.title,
                ([cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True)),
            )
            for sheet in book.worksheets
        ]
        title = (book.properties.title or "").strip()
    finally:
        book.close()
    return ParsedText(title=title, sections=sections)
