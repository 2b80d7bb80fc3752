"""bytes -> Document: pick the parser (by the content's signature, else the extension, else what
the text looks like), assemble its sections into text and parts, normalize, add metadata.

Every failure leaves as a :class:`LoaderError` with a specific reason; nothing a parsing library
raises escapes un-wrapped, so one bad file never stops a batch.
"""

from __future__ import annotations

import importlib
import io
import re
import zipfile
from collections.abc import Callable

from ruai.ingest.documents import Document, content_hash_of
from ruai.loaders.errors import LoaderError, NoTextError
from ruai.loaders.limits import UNLIMITED, ParseLimits
from ruai.loaders.parsed import ParsedText
from ruai.loaders.sections import assemble
from ruai.text.decoding import DecodeError
from ruai.text.language import language_of
from ruai.text.normalize import normalize_text

# each format's parser: the ``parse`` function of this ruai.loaders module, imported on the
# format's first file (a process that reads Markdown never imports pypdf, openpyxl or lxml)
PARSERS = {
    "txt": "txt", "markdown": "markdown", "html": "html", "pdf": "pdf", "docx": "docx",
    "xlsx": "xlsx", "xls": "xls", "pptx": "pptx", "odt": "opendocument", "ods": "opendocument",
    "rtf": "rtf", "doc": "doc", "eml": "eml", "image": "image",
}  # fmt: skip
FORMAT_NAMES = {
    "txt": "text", "markdown": "Markdown", "html": "HTML", "pdf": "PDF", "docx": "DOCX",
    "xlsx": "XLSX", "xls": "XLS", "pptx": "PPTX", "odt": "ODT", "ods": "ODS", "rtf": "RTF",
    "doc": "DOC", "eml": "e-mail", "image": "image",
}  # fmt: skip
EXTENSIONS = {
    ".txt": "txt", ".text": "txt",
    ".md": "markdown", ".markdown": "markdown",
    ".html": "html", ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
    ".xlsx": "xlsx", ".xlsm": "xlsx",
    ".xls": "xls",
    ".pptx": "pptx",
    ".odt": "odt", ".ods": "ods",
    ".rtf": "rtf",
    ".doc": "doc",
    ".eml": "eml",
    ".png": "image", ".jpg": "image", ".jpeg": "image", ".tif": "image", ".tiff": "image",
    ".bmp": "image", ".gif": "image", ".webp": "image",
}  # fmt: skip
# the parts of an Office Open XML or OpenDocument package that name its format
_PACKAGE_MARKERS = (
    ("word/document.xml", "docx"),
    ("xl/workbook.xml", "xlsx"),
    ("ppt/presentation.xml", "pptx"),
)
_OPENDOCUMENT_TYPES = {
    b"application/vnd.oasis.opendocument.text": "odt",
    b"application/vnd.oasis.opendocument.spreadsheet": "ods",
}
_OLE_STREAM = {
    name: (name + "\0").encode("utf-16-le") for name in ("WordDocument", "Workbook", "Book")
}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"GIF8", b"BM")
_MAIL_HEADER = re.compile(
    rb"\A(?:(?:Return-Path|Received|From|To|Subject|Date|Message-ID|MIME-Version|Delivered-To)"
    rb":[^\n]*\r?\n(?:[ \t][^\n]*\r?\n)*){2,}",
    re.IGNORECASE,
)
TITLE_MAX_CHARS = 120
# what sniffing says of content without a binary signature: an extension may know better
_TEXT_FORMATS = ("txt", "html", "eml")
_HTML_START = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<(?:!doctype\s+html|html[\s>])", re.IGNORECASE)


def load_document(source: str, data: bytes, limits: ParseLimits = UNLIMITED) -> Document:
    """Parse one file's bytes; ``source`` is its path or URI (it picks the format and names the
    document). Raises :class:`LoaderError` with the reason when it cannot be loaded, its
    subclasses :class:`NoTextError` when there is no text to index and
    :class:`LimitExceededError` when the file is past one of ``limits``."""
    if not data:
        raise NoTextError("empty file")
    fmt = detect_format(source, data)
    parsed = parse_as(fmt, data, limits)
    if parsed.sections:
        text, parts = assemble(parsed.sections)
    else:
        text, parts = normalize_text(parsed.text), []
    if not text:
        raise NoTextError(f"no text extracted{_ocr_note(parsed)}")
    meta: dict[str, object] = {"format": fmt}
    if parsed.encoding is not None:
        meta["encoding"] = parsed.encoding
    if parsed.ocr_pages:
        meta["ocr_pages"] = parsed.ocr_pages
    meta |= {"language": language_of(text), "chars": len(text)}
    return Document(
        source=source,
        text=text,
        title=_title(parsed.title, text, source),
        content_hash=content_hash_of(data),
        meta=meta,
        parts=parts,
        attachments=parsed.attachments,
    )


def _ocr_note(parsed: ParsedText) -> str:
    return f" ({parsed.ocr_pages} pages OCR'd)" if parsed.ocr_pages else ""


def detect_format(source: str, data: bytes) -> str:
    """What the content is when its signature says so unambiguously (a PDF, an Office or
    OpenDocument package, an image, RTF, an OLE file), whatever the extension; else the format
    the extension names; without a known one, what the text looks like."""
    sniffed = sniff_format(data)
    if sniffed not in _TEXT_FORMATS:
        return sniffed
    name = _file_name(source).lower()
    for extension, fmt in EXTENSIONS.items():
        if name.endswith(extension):
            return fmt
    return sniffed


def readable_format(source: str, data: bytes) -> str | None:
    """The format when the content's signature or the extension names one; None for text-like
    content under an unknown extension (an e-mail skips such attachments: signatures, archives)."""
    fmt = detect_format(source, data)
    if fmt not in _TEXT_FORMATS:
        return fmt
    name = _file_name(source).lower()
    return fmt if any(name.endswith(extension) for extension in EXTENSIONS) else None


def sniff_format(data: bytes) -> str:
    """The format the content shows (magic numbers, a package's parts, mail headers); "txt"
    when nothing else matches."""
    head = data[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return _package_format(data) or "txt"
    if head.startswith(_IMAGE_MAGIC) or head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image"
    if head.startswith(b"{\\rtf"):
        return "rtf"
    if head.startswith(_OLE_MAGIC):
        return _ole_format(data)
    if _HTML_START.match(head):
        return "html"
    if _MAIL_HEADER.match(head):
        return "eml"
    return "txt"


def parse_as(fmt: str, data: bytes, limits: ParseLimits) -> ParsedText:
    """One format's parser, its failures as :class:`LoaderError`."""
    parse = parser_of(fmt)
    try:
        return parse(data, limits)
    except (LoaderError, MemoryError):  # a memory cap is a limit, not a corrupt file
        raise
    except DecodeError as exc:
        raise LoaderError(f"binary or undecodable content: {exc}") from exc
    except Exception as exc:  # the edge: any library failure becomes a reason
        detail = str(exc) or type(exc).__name__
        raise LoaderError(f"corrupt {FORMAT_NAMES[fmt]}: {detail}") from exc


def parser_of(fmt: str) -> Callable[[bytes, ParseLimits], ParsedText]:
    return importlib.import_module(f"ruai.loaders.{PARSERS[fmt]}").parse


def _ole_format(data: bytes) -> str:
    """A Word file has a WordDocument stream, an Excel one a Workbook (or Excel 5's Book): the
    names are in the compound file's directory, in UTF-16."""
    if _OLE_STREAM["WordDocument"] in data:
        return "doc"
    if _OLE_STREAM["Workbook"] in data or _OLE_STREAM["Book"] in data:
        return "xls"
    return "doc"


def _package_format(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            for marker, fmt in _PACKAGE_MARKERS:
                if marker in names:
                    return fmt
            if "mimetype" in names:
                return _OPENDOCUMENT_TYPES.get(archive.read("mimetype").strip())
    except (zipfile.BadZipFile, OSError, RuntimeError):
        return None
    return None


def _title(declared: str, text: str, source: str) -> str:
    title = " ".join(declared.split())
    if not title:
        first_line = text.split("\n", 1)[0].strip()
        title = first_line[:TITLE_MAX_CHARS].rstrip()
    return title or _file_name(source)


def _file_name(source: str) -> str:
    """The last part of the path; of an http(s) URL's path, without its query and fragment (a
    file's or an object's name may hold '?' and '#')."""
    path = source
    if source.lower().startswith(("http://", "https://")):
        path = source.split("?", 1)[0].split("#", 1)[0]
    return path.rstrip("/").replace("\\", "/").rsplit("/", 1)[-1]
