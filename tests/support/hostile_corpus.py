"""Hostile files that the tests build: each bad one with the words its report reason must contain,
and good ones that must be ingested next to them."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

RUSSIAN = "Кошка сидит на тёплом окне и смотрит на снег во дворе."
_DOCX_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
)
_DOCX_TAIL = "</w:body></w:document>"
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
)


def _paragraph(text: str) -> str:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"


def docx_bytes(paragraphs: int = 1, text: str = RUSSIAN, *, nested: int = 0) -> bytes:
    """A minimal valid DOCX; ``paragraphs`` copies of ``text`` (a bomb when large: the same
    paragraph compresses ~1000:1), or one paragraph inside ``nested`` levels of w:sdt."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        with archive.open("word/document.xml", "w", force_zip64=True) as body:
            body.write(_DOCX_HEAD.encode())
            body.write(("<w:sdt><w:sdtContent>" * nested).encode())
            block = (_paragraph(text) * 1000).encode()
            for _ in range(paragraphs // 1000):
                body.write(block)
            body.write((_paragraph(text) * (paragraphs % 1000)).encode())
            body.write(("</w:sdtContent></w:sdt>" * nested).encode())
            body.write(_DOCX_TAIL.encode())
    return buffer.getvalue()


def nested_html(depth: int) -> bytes:
    return (
        "<html><body>" + "<div>" * depth + RUSSIAN + "</div>" * depth + "</body></html>"
    ).encode()


def write_good_files(folder: Path) -> dict[str, str]:
    """Good files in every format and encoding trouble: name → a phrase its text contains."""
    folder.mkdir(parents=True, exist_ok=True)
    phrases = {
        "nul.txt": "Стрельцы охраняли Кремль",
        "cp1251.txt": "Документ в кодировке Windows-1251",
        "koi8.md": "Заголовок в КОИ-8",
        "utf16.txt": "Текст в UTF-16 с меткой порядка байтов",
        "page.html": "Страница со списком городов",
        "report.docx": "Отчёт о работе библиотеки",
        "mixed-encodings.txt": "Первая половина в UTF-8",
    }
    nul = "Стрельцы охраняли Кремль.\x00 Вторая фраза\x00 про\x00 войско.\n"
    (folder / "nul.txt").write_bytes(nul.encode() * 20)
    (folder / "cp1251.txt").write_bytes(f"{phrases['cp1251.txt']}.".encode("cp1251"))
    (folder / "koi8.md").write_bytes(f"# {phrases['koi8.md']}\n\nТекст заметки.".encode("koi8-r"))
    (folder / "utf16.txt").write_bytes(f"{phrases['utf16.txt']}.".encode("utf-16"))
    (folder / "page.html").write_bytes(
        f"<html><body><h1>{phrases['page.html']}</h1><ul><li>Москва</li></ul></body></html>".encode()
    )
    (folder / "report.docx").write_bytes(docx_bytes(3, phrases["report.docx"] + "."))
    # UTF-8 with one stray cp1251 line: decoded as UTF-8, the broken bytes replaced
    mixed = f"{phrases['mixed-encodings.txt']}, и это длинная строка русского текста.\n".encode()
    (folder / "mixed-encodings.txt").write_bytes(mixed * 4 + "вторая в cp1251\n".encode("cp1251"))
    return phrases


def write_bad_files(folder: Path) -> dict[str, str]:
    """Bad files: name → a word their failure reason must contain."""
    folder.mkdir(parents=True, exist_ok=True)
    # 1.1 MB on disk, 156 MB unpacked (the bomb: 1.6 MB unpacking to 520 MB)
    (folder / "bomb.docx").write_bytes(docx_bytes(1_200_000))
    (folder / "nested.html").write_bytes(nested_html(100_000))
    (folder / "deep.docx").write_bytes(docx_bytes(1, nested=2_000))
    # one 8 MB line of words without a sentence end: far more chunks than a document may have
    (folder / "huge-line.txt").write_bytes(b"word " * 1_700_000)
    with open(folder / "huge-file.txt", "wb") as f:
        f.truncate(40 * 1024 * 1024)  # sparse: over max_file_bytes without touching the disk
    (folder / "random.txt").write_bytes(os.urandom(8192))
    # a PNG signature is read as an image whatever the extension: this one is junk after it
    (folder / "image.pdf").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(4096))
    (folder / "text.docx").write_bytes(RUSSIAN.encode())  # not a ZIP
    return {
        "bomb.docx": "max_unzipped_bytes",
        "nested.html": "max_markup_depth",
        "deep.docx": "max_markup_depth",
        "huge-line.txt": "max_chunks_per_doc",
        "huge-file.txt": "max_file_bytes",
        "random.txt": "binary",
        "image.pdf": "corrupt image",
        "text.docx": "DOCX",
    }
