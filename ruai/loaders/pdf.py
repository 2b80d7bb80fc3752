"""PDF: each page a section. Its text layer (pypdf) when that is real text; when the page has
none (a scan) or only garbage (fonts without a character map), the page rendered (pypdfium2) and
read by OCR. A wider vertical gap between lines than usual on the page marks a paragraph break."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from itertools import pairwise

from pypdf import PageObject, PdfReader
from pypdf.errors import DependencyError, PdfReadError

from ruai.loaders.errors import LoaderError
from ruai.loaders.limits import UNLIMITED, ParseLimits, check_limit
from ruai.loaders.ocr import ocr_page
from ruai.loaders.parsed import ParsedText, Section
from ruai.loaders.text_layer import needs_ocr

_PARAGRAPH_GAP = 1.3  # times the page's usual line gap
_POINTS_PER_INCH = 72


def parse(data: bytes, limits: ParseLimits = UNLIMITED) -> ParsedText:
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        _decrypt_without_password(reader)
    check_limit("max_pdf_pages", limits.max_pdf_pages, len(reader.pages), "PDF pages")
    texts = [_page_text(page) for page in reader.pages]
    scanned = [
        number
        for number, (page, text) in enumerate(zip(reader.pages, texts, strict=True))
        if needs_ocr(text, _has_images(page))
    ]
    check_limit("ocr_max_pages", limits.ocr_max_pages, len(scanned), "PDF pages to OCR")
    if scanned:
        for number, text in _ocr_pages(data, scanned, limits):
            texts[number] = text
    title = (reader.metadata.title or "") if reader.metadata else ""
    sections = [Section([text], ("page", n)) for n, text in enumerate(texts, 1)]
    return ParsedText(title=str(title).strip(), sections=sections, ocr_pages=len(scanned))


def _has_images(page: PageObject) -> bool:
    resources = page.get("/Resources")
    if resources is None:
        return False
    objects = resources.get_object().get("/XObject")
    return bool(objects) and len(objects.get_object()) > 0


def _ocr_pages(data: bytes, numbers: list[int], limits: ParseLimits):
    """(page index, OCR text) of the pages ``numbers``, rendered at ``ocr_dpi`` (lower where
    the page is so large that it would pass ``max_image_pixels``)."""
    import pypdfium2

    document = pypdfium2.PdfDocument(data)
    try:
        for number in numbers:
            page = document[number]
            width, height = page.get_size()
            scale = limits.ocr_dpi / _POINTS_PER_INCH
            if limits.max_image_pixels is not None:
                fitting = (limits.max_image_pixels / max(width * height, 1.0)) ** 0.5
                scale = min(scale, fitting)
            image = page.render(scale=scale, grayscale=True).to_pil()
            page.close()
            yield number, ocr_page(image, number + 1, limits, scale * _POINTS_PER_INCH)
    finally:
        document.close()


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
