"""The per-document limits that a parser checks itself, before the work they bound: unpacked
size and member count of a ZIP container (DOCX, XLSX, PPTX, ODT, ODS), nesting depth of
HTML/XML/RTF, pages of a PDF, pixels of an image, pages to OCR and the time of each, the time of a
helper program (catdoc).
``None`` means unlimited (a loader called without limits, as in the unit tests)."""

from __future__ import annotations

from dataclasses import dataclass

from ruai.loaders.errors import LimitExceededError
from ruai.settings import Settings


@dataclass(frozen=True, slots=True)
class ParseLimits:
    max_unzipped_bytes: int | None = None
    max_zip_members: int | None = None
    max_markup_depth: int | None = None
    max_pdf_pages: int | None = None
    max_image_pixels: int | None = None
    ocr_max_pages: int | None = None
    ocr_page_timeout_s: float | None = None
    ocr_dpi: int = 300
    ocr_languages: str = "rus+eng"
    tool_timeout_s: float | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ParseLimits:
        return cls(
            max_unzipped_bytes=settings.max_unzipped_bytes,
            max_zip_members=settings.max_zip_members,
            max_markup_depth=settings.max_markup_depth,
            max_pdf_pages=settings.max_pdf_pages,
            max_image_pixels=settings.max_image_pixels,
            ocr_max_pages=settings.ocr_max_pages,
            ocr_page_timeout_s=settings.ocr_page_timeout_s,
            ocr_dpi=settings.ocr_dpi,
            ocr_languages=settings.ocr_languages,
            tool_timeout_s=settings.parse_timeout_s,
        )


UNLIMITED = ParseLimits()


def check_limit(limit: str, value: int | None, found: int, what: str) -> None:
    """Raise :class:`LimitExceededError` when ``found`` (a count of ``what``) passes ``value``."""
    if value is not None and found > value:
        raise LimitExceededError(limit, value, f"{what}: {found}")
