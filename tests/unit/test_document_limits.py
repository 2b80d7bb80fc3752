"""Per-document limits: each is checked where the work happens and reported by name and value;
the killable child process ends a parse that runs too long or allocates too much."""

from __future__ import annotations

import pytest

from ruai.ingest.extraction import Extractor
from ruai.ingest.isolated_extraction import IsolatedExtractor
from ruai.loaders import LimitExceededError, ParseLimits, load_document
from ruai.settings import Settings
from ruai.text.decoding import decode_bytes
from tests.support.hostile_corpus import RUSSIAN, docx_bytes, nested_html


def _limit_of(call) -> LimitExceededError:
    with pytest.raises(LimitExceededError) as caught:
        call()
    return caught.value


def test_docx_bomb_is_refused_from_the_zip_directory():
    bomb = docx_bytes(200_000)  # 180 KB that unpacks to 26 MB
    error = _limit_of(
        lambda: load_document("bomb.docx", bomb, ParseLimits(max_unzipped_bytes=1_000_000))
    )
    assert (error.limit, error.value) == ("max_unzipped_bytes", 1_000_000)
    assert "RUAI_MAX_UNZIPPED_BYTES" in str(error)
    error = _limit_of(lambda: load_document("x.docx", bomb, ParseLimits(max_zip_members=2)))
    assert (error.limit, error.found) == ("max_zip_members", "ZIP members: 3")
    assert RUSSIAN in load_document("ok.docx", docx_bytes(2), ParseLimits(2**20, 3, 64)).text


def test_markup_depth_of_html_and_docx():
    limits = ParseLimits(max_markup_depth=100)
    error = _limit_of(lambda: load_document("deep.html", nested_html(5_000), limits))
    assert error.limit == "max_markup_depth" and "5002" in error.found
    assert RUSSIAN in load_document("ok.html", nested_html(90), limits).text
    error = _limit_of(lambda: load_document("deep.docx", docx_bytes(1, nested=300), limits))
    assert error.limit == "max_markup_depth" and "XML" in error.found
    assert RUSSIAN in load_document("ok.docx", docx_bytes(2), limits).text


def test_pdf_pages(make_pdf):
    pdf = make_pdf([[RUSSIAN]] * 3).read_bytes()
    error = _limit_of(lambda: load_document("book.pdf", pdf, ParseLimits(max_pdf_pages=2)))
    assert (error.limit, error.found) == ("max_pdf_pages", "PDF pages: 3")
    assert "Кошка" in load_document("book.pdf", pdf, ParseLimits(max_pdf_pages=3)).text


def test_chunks_per_document_refused_before_chunking():
    extract = Extractor(Settings(max_chunks_per_doc=10), lambda text: len(text.split()), 20)
    error = _limit_of(lambda: extract("long.txt", ("слово " * 1_000).encode()))
    assert (error.limit, error.value) == ("max_chunks_per_doc", 10)
    assert len(extract("ok.txt", ("слово " * 150).encode()).spans) == 8


def test_stray_nul_bytes_are_cleaned_and_binary_stays_binary():
    text = "Стрельцы охраняли\x00 Кремль.\x00\x07 Вторая фраза.\n" * 5
    document = load_document("nul.txt", text.encode())
    assert "\x00" not in document.text and "\x07" not in document.text
    assert document.text.startswith("Стрельцы охраняли Кремль. Вторая фраза.")
    assert decode_bytes(text.encode())[1] == "utf-8"
    with pytest.raises(ValueError, match="binary"):
        load_document("nul.txt", b"\x00\x01\x02\x03" * 100 + text.encode())


def test_isolated_parse_is_killed_at_the_timeout_and_the_next_one_runs():
    # the text walk of a deep tree is quadratic: 30 000 levels take minutes, never 1 s
    settings = Settings(parse_timeout_s=1, max_markup_depth=1_000_000)
    extract = IsolatedExtractor(settings)
    try:
        error = _limit_of(lambda: extract("deep.html", nested_html(30_000)))
        assert str(error).startswith("timeout after 1 s (limit parse_timeout_s=1;")
        assert extract._child is None  # killed
        assert RUSSIAN in extract("ok.html", nested_html(3)).document.text
    finally:
        extract.close()


def test_isolated_parse_past_its_memory_cap_is_reported_not_grown():
    # 35 MB of text: decoding, normalizing and sentence splitting need several copies of it
    settings = Settings(parse_memory_bytes=330 * 2**20, max_chunks_per_doc=10**7)
    extract = IsolatedExtractor(settings)
    try:
        error = _limit_of(lambda: extract("big.txt", ("Кошка сидит на окне. " * 10**6).encode()))
        assert (error.limit, error.value) == ("parse_memory_bytes", 330 * 2**20)
        assert extract("ok.txt", RUSSIAN.encode()).document.text == RUSSIAN
    finally:
        extract.close()
