"""PPTX: each slide a section: its title, the text of its shapes (groups included), its tables
under their header row, and the speaker notes (python-pptx)."""

from __future__ import annotations

import io
from collections.abc import Iterator

from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE

from ruai.loaders.limits import UNLIMITED, ParseLimits
from ruai.loaders.package import check_package
from ruai.loaders.parsed import ParsedText, Section, Table


def parse(data: bytes, limits: ParseLimits = UNLIMITED) -> ParsedText:
    check_package(data, limits, "PPTX", "ppt/presentation.xml")
    presentation = Presentation(io.BytesIO(data))
    sections = []
    titles = []
    for number, slide in enumerate(presentation.slides, 1):
        title_shape = slide.shapes.title
        title = title_shape.text_frame.text.strip() if title_shape is not None else ""
        title_id = title_shape.shape_id if title_shape is not None else None
        titles.append(title)
        # the slide's text is one paragraph (its title first), so a slide is one chunk when
        # it fits; tables and notes follow
        texts, tables = [title], []
        for shape in _shapes(slide.shapes):
            if shape.shape_id == title_id:
                continue
            if getattr(shape, "has_table", False) and shape.has_table:
                rows = [[cell.text for cell in row.cells] for row in shape.table.rows]
                tables.append(Table(rows, context=title))
            elif shape.has_text_frame:
                texts.append(shape.text_frame.text)
        blocks: list[str | Table] = ["\n".join(texts), *tables]
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            blocks.append(slide.notes_slide.notes_text_frame.text)
        sections.append(Section(blocks, ("slide", number)))
    title = (presentation.core_properties.title or "").strip() or next(filter(None, titles), "")
    return ParsedText(title=title, sections=sections)


def _shapes(shapes) -> Iterator:
    for shape in shapes:
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            yield from _shapes(shape.shapes)
        else:
            yield shape
