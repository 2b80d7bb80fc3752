"""bytes -> Document: pick the parser by extension (or by content), normalize, add metadata.

Every failure leaves as a :class:`LoaderError` with a specific reason; nothing a parsing library
raises escapes un-wrapped, so one bad file never stops a batch.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable

from ruai.documents import Document, content_hash_of
from ruai.loaders import docx, html, markdown, pdf, txt
from ruai.loaders.errors import LoaderError, NoTextError
from ruai.loaders.limits import UNLIMITED, ParseLimits
from ruai.loaders.parsed import ParsedText
from ruai.text.decoding import DecodeError
from ruai.text.language import language_of
from ruai.text.normalize import normalize_text

PARSERS: dict[str, Callable[[bytes, ParseLimits], ParsedText]] = {
    "txt": txt.parse,
    "markdown": markdown.parse,
    "html": html.parse,
    "pdf": pdf.parse,
    "docx": docx.parse,
}
FORMAT_NAMES = {"txt": "text", "markdown": "Markdown", "html": "HTML", "pdf": "PDF", "docx": "DOCX"}
EXTENSIONS = {
    ".txt": "txt", ".text": "txt",
    ".md": "markdown", ".markdown": "markdown",
    ".html": "html", ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
}  # fmt: skip
TITLE_MAX_CHARS = 120
_HTML_START = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<(?:!doctype\s+html|html[\s>])", re.IGNORECASE)


def load_document(source: str, data: bytes, limits: ParseLimits = UNLIMITED) -> Document:
    """Parse one file's bytes; ``source`` is its path or URI (it picks the format and names the
    document). Raises :class:`LoaderError` with the reason when it cannot be loaded, its
    subclasses :class:`NoTextError` when there is no text to index and
    :class:`LimitExceededError` when the file is past one of ``limits``."""
    if not data:
        raise NoTextError("empty file")
    fmt = detect_format(source, data)
    parsed = _parse(fmt, data, limits)
    text = normalize_text(parsed.text)
    if not text:
        raise NoTextError("no text extracted")
    meta: dict[str, object] = {"format": fmt}
    if parsed.encoding is not None:
        meta["encoding"] = parsed.encoding
    meta |= {"language": language_of(text), "chars": len(text)}
    return Document(
        source=source,
        text=text,
        title=_title(parsed.title, text, source),
        content_hash=content_hash_of(data),
        meta=meta,
    )


def detect_format(source: str, data: bytes) -> str:
    """The format named by the extension; without a known one, what the content looks like."""
    name = _file_name(source).lower()
    for extension, fmt in EXTENSIONS.items():
        if name.endswith(extension):
            return fmt
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if _is_docx_package(data):
        return "docx"
    if _HTML_START.match(data[:1024]):
        return "html"
    return "txt"


def _parse(fmt: str, data: bytes, limits: ParseLimits) -> ParsedText:
    try:
        return PARSERS[fmt](data, limits)
    except (LoaderError, MemoryError):  # a memory cap is a limit, not a corrupt file
        raise
    except DecodeError as exc:
        raise LoaderError(f"binary or undecodable content: {exc}") from exc
    except Exception as exc:  # the edge: any library failure becomes a reason
        detail = str(exc) or type(exc).__name__
        raise LoaderError(f"corrupt {FORMAT_NAMES[fmt]}: {detail}") from exc


def _is_docx_package(data: bytes) -> bool:
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


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
