"""PDF: the text layer of each page (pypdf); a wider vertical gap between lines than usual on
the page marks a paragraph break."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from itertools import pairwise

from pypdf import PageObject, PdfReader
from pypdf.errors import DependencyError, PdfReadError

from ruai.loaders.errors import LoaderError
from ruai.loaders.limits import UNLIMITED, ParseLimits, check_limit
from ruai.loaders.parsed import ParsedText

_PARAGRAPH_GAP = 1.3  # times the page's usual line gap


def parse(data: bytes, limits: ParseLimits = UNLIMITED) -> ParsedText:
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        _decrypt_without_password(reader)
    check_limit("max_pdf_pages", limits.max_pdf_pages, len(reader.pages), "PDF pages")
    pages = [_page_text(page) for page in reader.pages]
    title = (reader.metadata.title or "") if reader.metadata else ""
    return ParsedText("\n\n".join(pages), str(title).strip())


def _decrypt_without_password(reader: PdfReader) -> None:
    """Many encrypted PDFs only restrict permissions and open with an empty password."""
    try:
        opened = reader.decrypt("")
    except (DependencyError, PdfReadError, NotImplementedError) as exc:
        raise LoaderError(f"encrypted PDF: cannot decrypt it ({exc})") from exc
    if not opened:
        raise LoaderError("encrypted PDF: it needs a password to open")


@dataclass
class _Line:
    y: float
    parts: list[str] = field(default_factory=list)


def _page_text(page: PageObject) -> str:
    lines: list[_Line] = []
    line_open = False

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        nonlocal line_open
        if not text:
            return
        if not line_open:
            lines.append(_Line(y=tm[4] * cm[1] + tm[5] * cm[3] + cm[5]))
        lines[-1].parts.append(text)
        line_open = not text.endswith("\n")

    page.extract_text(visitor_text=visit)
    return _join_paragraphs(lines)


def _join_paragraphs(lines: list[_Line]) -> str:
    texts = ["".join(line.parts).rstrip("\n") for line in lines]
    gaps = [above.y - below.y for above, below in pairwise(lines)]
    usual = _usual_line_gap(gaps)
    out = texts[:1]
    for gap, text in zip(gaps, texts[1:], strict=True):
        # a wide gap down, or a jump up (the next column or block), starts a paragraph
        if usual > 0 and (gap > _PARAGRAPH_GAP * usual or gap < -usual):
            out.append("")
        out.append(text)
    return "\n".join(out)


def _usual_line_gap(gaps: list[float]) -> float:
    """The lower quartile of the downward gaps: the line spacing inside a paragraph, even on a
    page where most gaps are paragraph breaks."""
    downward = sorted(gap for gap in gaps if gap > 0)
    return downward[(len(downward) - 1) // 4] if downward else 0.0
