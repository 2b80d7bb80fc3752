"""XLS (Excel 97-2003): each sheet a section, its rows a table under its header row (xlrd)."""

from __future__ import annotations

import xlrd

from ruai.loaders.limits import UNLIMITED, ParseLimits
from ruai.loaders.parsed import ParsedText
from ruai.loaders.sheets import cell_text, sheet_section


def parse(data: bytes, limits: ParseLimits = UNLIMITED) -> ParsedText:
    book = xlrd.open_workbook(file_contents=data, on_demand=True)
    sections = []
    for index in range(book.nsheets):
        sheet = book.sheet_by_index(index)
        rows = ([_text(book, cell) for cell in sheet.row(r)] for r in range(sheet.nrows))
        sections.append(sheet_section(sheet.name, rows))
        book.unload_sheet(index)
    return ParsedText(sections=sections)


def _text(book: xlrd.book.Book, cell: xlrd.sheet.Cell) -> str:
    if cell.ctype == xlrd.XL_CELL_DATE:
        return cell_text(xlrd.xldate.xldate_as_datetime(cell.value, book.datemode))
    if cell.ctype in (xlrd.XL_CELL_ERROR, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_EMPTY):
        return ""
    return cell_text(cell.value)
