"""Scans read by tesseract (real OCR, Russian text rendered by the tests): image-only and mixed
PDFs page by page, PNG and multi-page TIFF; and the bounds: an image bomb, a corrupt TIFF and a
scan past the pages-to-OCR limit are refused with the reason, in the killable child too."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from pypdf import PdfReader, PdfWriter

from ruai.ingest.extraction import Extractor
from ruai.ingest.isolated_extraction import IsolatedExtractor
from ruai.ingest.processing import DocumentProcessor
from ruai.loaders import LimitExceededError, LoaderError, load_document
from ruai.loaders.limits import ParseLimits
from ruai.loaders.text_layer import needs_ocr
from ruai.settings import Settings
from ruai.text.chunking import count_words
from tests.support.scanned_pages import image_pdf, render_page, save_tiff

CONTRACT = [
    "Договор поставки оборудования номер семнадцать заключён в городе Казани.",
    "Срок поставки составляет тридцать календарных дней с момента оплаты счёта.",
]
ORDER = [
    "Приказ о назначении ответственного за пожарную безопасность в здании склада.",
    "Ответственным назначается начальник смены Петров Иван Сергеевич.",
]
LIMITS = ParseLimits(ocr_max_pages=5, ocr_page_timeout_s=120, max_image_pixels=50_000_000)


def _words(text: str) -> set[str]:
    return {word.strip(".,«»").lower() for word in text.split()}


def _read_well(found: str, paragraphs: list[str], share: float = 0.9) -> bool:
    expected = _words(" ".join(paragraphs))
    return len(expected & _words(found)) >= share * len(expected)


def _page_texts(source: str, data: bytes, limits: ParseLimits = LIMITS) -> dict:
    document = load_document(source, data, limits)
    spans = Extractor(Settings(), count_words, 200).chunk(document)
    pages: dict = {}
    for span in spans:
        pages[span.place] = pages.get(span.place, "") + " " + span.text
    return document, pages


def test_an_image_only_pdf_is_read_page_by_page() -> None:
    scans = [render_page(CONTRACT, dpi=200), render_page(ORDER, dpi=150, rotate=2, noise=0.02)]
    document, pages = _page_texts("scan.pdf", image_pdf(scans))
    assert document.meta["ocr_pages"] == 2
    assert set(pages) == {("page", 1), ("page", 2)}
    assert _read_well(pages["page", 1], CONTRACT)
    assert _read_well(pages["page", 2], ORDER)


def test_a_mixed_pdf_keeps_its_text_layer_and_reads_only_the_scanned_page(make_pdf) -> None:
    typed = make_pdf([["Пояснительная записка к договору поставки."]], name="typed.pdf")
    writer = PdfWriter()
    for source in (typed.read_bytes(), image_pdf([render_page(ORDER, dpi=200)])):
        for page in PdfReader(io.BytesIO(source)).pages:
            writer.add_page(page)
    buffer = io.BytesIO()
    writer.write(buffer)
    document, pages = _page_texts("mixed.pdf", buffer.getvalue())
    assert document.meta["ocr_pages"] == 1
    assert pages["page", 1].strip() == "Пояснительная записка к договору поставки."
    assert _read_well(pages["page", 2], ORDER)


def test_png_and_multi_page_tiff_scans_are_documents(tmp_path) -> None:
    png = io.BytesIO()
    render_page(CONTRACT, dpi=200).save(png, format="PNG", dpi=(200, 200))
    document, pages = _page_texts("scan.png", png.getvalue())
    assert document.meta == document.meta | {"format": "image", "ocr_pages": 1}
    assert _read_well(pages["page", 1], CONTRACT)

    tiff = save_tiff([render_page(ORDER, dpi=200), render_page(CONTRACT, dpi=200)], tmp_path / "t")
    document, pages = _page_texts("scan.tiff", tiff.read_bytes())
    assert document.meta["ocr_pages"] == 2
    assert _read_well(pages["page", 1], ORDER) and _read_well(pages["page", 2], CONTRACT)


@pytest.mark.parametrize("turn", [90, 180])
def test_a_page_scanned_sideways_or_upside_down_is_turned_back(turn) -> None:
    page = render_page(ORDER, dpi=200).rotate(turn, expand=True)
    png = io.BytesIO()
    page.save(png, format="PNG", dpi=(200, 200))
    _, pages = _page_texts("turned.png", png.getvalue())
    assert _read_well(pages["page", 1], ORDER)


def _png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature and header claiming ``width``×``height``, with one tiny data
    chunk: the shape of a decompression bomb, without the bomb."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def _tiny_pages(count: int) -> list:
    from PIL import Image

    return [Image.new("L", (32, 32), 255) for _ in range(count)]


def _tiny_tiff_pages(count: int) -> bytes:
    buffer = io.BytesIO()
    pages = _tiny_pages(count)
    pages[0].save(buffer, format="TIFF", save_all=True, append_images=pages[1:])
    return buffer.getvalue()


def test_an_image_bomb_and_a_long_scan_are_refused_before_any_ocr() -> None:
    with pytest.raises(LimitExceededError, match="max_image_pixels") as bomb:
        load_document("bomb.png", _png_header_only(100_000, 100_000), LIMITS)
    assert "100000×100000" in str(bomb.value)
    with pytest.raises(LimitExceededError, match="ocr_max_pages=5"):
        load_document("long.tiff", _tiny_tiff_pages(6), LIMITS)
    # the 2,000-page scan: its pages are counted (the text layers read) before any OCR
    scan = _tiny_pages(2000)
    pdf = io.BytesIO()
    scan[0].save(pdf, format="PDF", save_all=True, append_images=scan[1:], resolution=72)
    with pytest.raises(LimitExceededError, match="PDF pages to OCR: 2000 .limit ocr_max_pages=5"):
        load_document("long.pdf", pdf.getvalue(), LIMITS)


def test_a_corrupt_tiff_is_reported_as_such() -> None:
    good = _tiny_tiff_pages(1)
    with pytest.raises(LoaderError, match="corrupt image"):
        load_document("cut.tiff", good[: len(good) // 2], LIMITS)
    with pytest.raises(LoaderError, match="corrupt image"):
        load_document("junk.tiff", b"II*\x00" + bytes(200), LIMITS)


def test_missing_language_data_names_the_debian_package() -> None:
    png = io.BytesIO()
    render_page(["Текст."], dpi=72).save(png, format="PNG")
    limits = ParseLimits(ocr_languages="rus+xyz")
    with pytest.raises(LoaderError, match="install the Debian package tesseract-ocr-xyz"):
        load_document("scan.png", png.getvalue(), limits)


def test_garbage_text_layers_are_read_by_ocr_and_real_ones_kept() -> None:
    russian = "Договор поставки оборудования заключён в Казани."
    assert not needs_ocr(russian, has_images=True)
    assert needs_ocr("Ð”Ð¾Ð³Ð¾Ð²Ð¾Ñ€ Ð¿Ð¾Ñ Ñ‚Ð°Ð²ÐºÐ¸", has_images=False)  # UTF-8 read as cp1252
    assert needs_ocr("\ue001\ue002\ue003 " * 10, has_images=False)  # fonts without a map
    assert needs_ocr("12", has_images=True)  # a scan with a page number in text
    assert not needs_ocr("", has_images=False)  # a blank page


def test_the_killable_child_reports_each_bound_and_reads_the_good_scan() -> None:
    settings = Settings(ocr_max_pages=3, extract_entities=False, max_image_pixels=10_000_000)
    extractor = IsolatedExtractor(settings)
    processor = DocumentProcessor(settings, extractor)
    png = io.BytesIO()
    render_page(CONTRACT, dpi=200).save(png, format="PNG", dpi=(200, 200))
    try:
        results = {
            name: processor.prepare(name, data)
            for name, data in [
                ("bomb.png", _png_header_only(60_000, 60_000)),
                ("long.tiff", _tiny_tiff_pages(4)),
                ("cut.tiff", _tiny_tiff_pages(1)[:150]),
                ("good.png", png.getvalue()),
            ]
        }
    finally:
        extractor.close()
    reasons = {name: (doc.status, doc.reason) for name, doc in results.items()}
    assert reasons["bomb.png"][0] == "failed" and "max_image_pixels" in reasons["bomb.png"][1]
    assert reasons["long.tiff"][0] == "failed" and "ocr_max_pages=3" in reasons["long.tiff"][1]
    assert reasons["cut.tiff"][0] == "failed" and "corrupt image" in reasons["cut.tiff"][1]
    good = results["good.png"]
    assert good.status == "ok" and good.document.meta["ocr_pages"] == 1
    assert {chunk.place for chunk in good.chunks} == {("page", 1)}
    assert _read_well(" ".join(chunk.text for chunk in good.chunks), CONTRACT)
