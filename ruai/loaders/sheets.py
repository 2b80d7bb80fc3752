"""Spreadsheet sheets as sections: one table per sheet, captioned with the sheet's name (and a
title row above the header, when the sheet has one)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from ruai.loaders.parsed import Section, Table


def cell_text(value: object) -> str:
    """A cell's value as its text: whole numbers without ".0", dates in ISO form."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value).strip()


def sheet_section(name: str, rows: Iterable[list[str]]) -> Section:
    """``rows`` of cell texts; empty rows dropped. A first row with a single filled cell
    above a wider one is the sheet's title: it joins the caption, the next row is the header."""
    kept = [row for row in rows if any(row)]
    caption = name
    if len(kept) > 2 and _filled(kept[0]) == 1 and _filled(kept[1]) > 1:
        caption = f"{name}. {next(cell for cell in kept[0] if cell)}"
        kept = kept[1:]
    return Section([Table(kept, caption)] if kept else [], ("sheet", name))


def _filled(row: list[str]) -> int:
    return sum(1 for cell in row if cell)
