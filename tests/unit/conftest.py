"""Fixtures that build real documents (PDF with reportlab, DOCX with python-docx) in tmp_path."""

from __future__ import annotations

import importlib.util
import io
from collections.abc import Callable
from pathlib import Path

import pytest


def _dejavu_sans() -> Path | None:
    candidates = [Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")]
    matplotlib = importlib.util.find_spec("matplotlib")
    if matplotlib is not None and matplotlib.origin:
        candidates.append(Path(matplotlib.origin).parent / "mpl-data/fonts/ttf/DejaVuSans.ttf")
    candidates += sorted(Path("/usr/share/fonts").rglob("DejaVuSans.ttf"))
    return next((path for path in candidates if path.is_file()), None)


@pytest.fixture(scope="session")
def cyrillic_font() -> str:
    """Registers DejaVuSans with reportlab (its built-in fonts have no Cyrillic)."""
    path = _dejavu_sans()
    if path is None:
        pytest.skip("no DejaVuSans.ttf (install fonts-dejavu-core or matplotlib) for PDF tests")
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont("DejaVuSans", str(path)))
    return "DejaVuSans"


@pytest.fixture
def make_pdf(cyrillic_font: str, tmp_path: Path) -> Callable[..., Path]:
    """``make_pdf(pages, title=...)``: each page a list of paragraphs, laid out by reportlab."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    def build(pages: list[list[str]], title: str = "", name: str = "doc.pdf") -> Path:
        style = ParagraphStyle("body", fontName=cyrillic_font, fontSize=11, leading=14)
        style.spaceAfter = 12
        story: list = []
        for number, paragraphs in enumerate(pages):
            if number:
                story.append(PageBreak())
            story.extend(Paragraph(text, style) for text in paragraphs)
        buffer = io.BytesIO()
        SimpleDocTemplate(buffer, pagesize=A4, title=title).build(story)
        path = tmp_path / name
        path.write_bytes(buffer.getvalue())
        return path

    return build


@pytest.fixture
def make_docx(tmp_path: Path) -> Callable[..., Path]:
    """``make_docx(paragraphs, table=rows, after=paragraphs, title=...)`` with python-docx."""
    import docx

    def build(
        paragraphs: list[str],
        table: list[list[str]] | None = None,
        after: tuple[str, ...] = (),
        title: str = "",
        name: str = "doc.docx",
    ) -> Path:
        document = docx.Document()
        document.core_properties.title = title
        for text in paragraphs:
            document.add_paragraph(text)
        if table:
            grid = document.add_table(rows=len(table), cols=len(table[0]))
            for r, row in enumerate(table):
                for c, text in enumerate(row):
                    grid.cell(r, c).text = text
        for text in after:
            document.add_paragraph(text)
        path = tmp_path / name
        document.save(str(path))
        return path

    return build
