"""Russian text rendered to page images, as a scanner would give them: black DejaVu type on
white at a chosen resolution, optionally turned a few degrees and sprinkled with noise; saved as
PNG, multi-page TIFF or an image-only PDF (Pillow). The tests' and the OCR benchmark's corpus."""

from __future__ import annotations

import io
import random
import textwrap
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
A4_INCHES = (8.27, 11.69)
MARGIN_INCHES = 0.8
POINT_SIZE = 12
WRAP_CHARS = 70


def render_page(
    paragraphs: list[str],
    dpi: int = 300,
    rotate: float = 0.0,
    noise: float = 0.0,
    seed: int = 0,
) -> Image.Image:
    """An A4 page (grayscale) with ``paragraphs`` wrapped at about 70 characters a line;
    ``noise`` is the share of pixels flipped to a random gray, ``rotate`` degrees the skew."""
    if not FONT.is_file():
        raise FileNotFoundError(f"{FONT}: install the Debian package fonts-dejavu-core")
    width, height = (round(side * dpi) for side in A4_INCHES)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(str(FONT), round(POINT_SIZE * dpi / 72))
    line_height = round(POINT_SIZE * 1.5 * dpi / 72)
    x = y = round(MARGIN_INCHES * dpi)
    for paragraph in paragraphs:
        for line in textwrap.wrap(paragraph, WRAP_CHARS):
            draw.text((x, y), line, font=font, fill=0)
            y += line_height
        y += line_height // 2
    if rotate:
        page = page.rotate(rotate, resample=Image.Resampling.BICUBIC, fillcolor=255)
    if noise:
        rng = random.Random(seed)
        pixels = page.load()
        for _ in range(int(width * height * noise)):
            pixels[rng.randrange(width), rng.randrange(height)] = rng.randrange(256)
        page = page.filter(ImageFilter.GaussianBlur(0.4))
    page.info["dpi"] = (dpi, dpi)
    return page


def save_png(page: Image.Image, path: Path) -> Path:
    page.save(path, format="PNG", dpi=page.info.get("dpi", (300, 300)))
    return path


def save_tiff(pages: list[Image.Image], path: Path) -> Path:
    dpi = pages[0].info.get("dpi", (300, 300))
    pages[0].save(
        path, format="TIFF", save_all=True, append_images=pages[1:], dpi=dpi, compression="tiff_lzw"
    )
    return path


def image_pdf(pages: list[Image.Image]) -> bytes:
    """An image-only PDF: each page a picture, no text layer (a scanned document)."""
    buffer = io.BytesIO()
    dpi = pages[0].info.get("dpi", (300, 300))[0]
    pages[0].save(buffer, format="PDF", save_all=True, append_images=pages[1:], resolution=dpi)
    return buffer.getvalue()
