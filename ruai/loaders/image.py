"""Images (PNG, JPEG, TIFF with any number of pages, BMP, GIF, WebP): each page read by OCR
(``ruai.loaders.ocr``), a section of its own. The pixel size is read from the header and checked
before a page is decoded, so an image bomb is refused without being unpacked."""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

from ruai.loaders.errors import LoaderError
from ruai.loaders.limits import UNLIMITED, ParseLimits, check_limit
from ruai.loaders.ocr import ocr_page
from ruai.loaders.parsed import ParsedText, Section

Image.MAX_IMAGE_PIXELS = None  # max_image_pixels is checked here, with a reason that names it


def parse(data: bytes, limits: ParseLimits = UNLIMITED) -> ParsedText:
    try:
        image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError) as exc:
        raise LoaderError(f"corrupt image: {exc}") from exc
    pages = getattr(image, "n_frames", 1)
    check_limit("ocr_max_pages", limits.ocr_max_pages, pages, "image pages to OCR")
    sections = []
    for number in range(1, pages + 1):
        image.seek(number - 1)
        width, height = image.size
        check_limit(
            "max_image_pixels",
            limits.max_image_pixels,
            width * height,
            f"pixels of page {number} ({width}×{height})",
        )
        image.load()
        dpi = image.info.get("dpi", (None,))[0]
        text = ocr_page(ImageOps.exif_transpose(image), number, limits, dpi)
        sections.append(Section([text], ("page", number)))
    return ParsedText(sections=sections, ocr_pages=pages)
