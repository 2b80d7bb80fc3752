"""OCR of one page image with Debian's tesseract (``tesseract-ocr`` with the ``rus`` and ``eng``
data): the image goes to the ``tesseract`` program on stdin, its text comes back on stdout,
under a time limit per page. Page segmentation with orientation detection (OSD) turns pages
scanned sideways or upside down; tesseract deskews a few degrees itself. One thread per page:
ingestion runs one document per CPU already."""

from __future__ import annotations

import functools
import io
import os
import shutil
import subprocess

from PIL import Image, ImageFilter

from ruai.loaders.errors import LimitExceededError, LoaderError
from ruai.loaders.limits import ParseLimits

# an image below this resolution is enlarged to it: tesseract reads letters about 20 px tall
# best, which 10-12 pt type reaches at about 300 dpi
READ_DPI = 300
_PACKAGES = {"rus": "tesseract-ocr-rus", "eng": "tesseract-ocr-eng", "osd": "tesseract-ocr-osd"}


@functools.cache
def _installed_languages() -> frozenset[str]:
    if shutil.which("tesseract") is None:
        raise LoaderError(
            "OCR needs the tesseract program: install the Debian packages tesseract-ocr and "
            "tesseract-ocr-rus (scripts/system-packages.sh)"
        )
    done = subprocess.run(
        ["tesseract", "--list-langs"], capture_output=True, text=True, timeout=60, check=False
    )
    listed = (done.stdout + done.stderr).splitlines()
    return frozenset(line.strip() for line in listed if line and ":" not in line)


def check_languages(languages: str) -> None:
    """Every language of ``languages`` ("rus+eng") has its data installed; else the reason
    names the Debian package (nothing is downloaded at run time)."""
    installed = _installed_languages()
    missing = [lang for lang in languages.split("+") if lang not in installed]
    if missing:
        packages = " ".join(_PACKAGES.get(lang, f"tesseract-ocr-{lang}") for lang in missing)
        raise LoaderError(
            f"OCR needs tesseract's data for {'+'.join(missing)}: install the Debian package "
            f"{packages} (or change RUAI_OCR_LANGUAGES)"
        )


def ocr_page(image: Image.Image, page: int, limits: ParseLimits, dpi: float | None) -> str:
    """The text of one page image; ``dpi`` is its resolution when known."""
    check_languages(limits.ocr_languages)
    image = _readable(image, dpi or READ_DPI)
    png = io.BytesIO()
    image.save(png, format="PNG")
    segmentation = "1" if "osd" in _installed_languages() else "3"
    command = ["tesseract", "stdin", "stdout", "-l", limits.ocr_languages, "--psm", segmentation]
    command += ["--dpi", str(READ_DPI if not dpi or dpi < READ_DPI else int(dpi))]
    try:
        done = subprocess.run(
            command,
            input=png.getvalue(),
            capture_output=True,
            timeout=limits.ocr_page_timeout_s,
            env=os.environ | {"OMP_THREAD_LIMIT": "1"},
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise LimitExceededError(
            "ocr_page_timeout_s", limits.ocr_page_timeout_s, f"OCR of page {page} ran too long"
        ) from None
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise LoaderError(f"OCR of page {page} failed: {detail[-1] if detail else done.returncode}")
    return done.stdout.decode("utf-8", "replace")


def _readable(image: Image.Image, dpi: float) -> Image.Image:
    """Grayscale, speckles removed (a 3×3 median: scanner noise breaks tesseract's layout
    analysis, type at 150 dpi and more is wider than 3 px), enlarged to READ_DPI when scanned at
    less (a resolution under 100 dpi is taken for a placeholder: many files say 72 whatever
    they hold)."""
    image = image.convert("L").filter(ImageFilter.MedianFilter(3))
    if 100 <= dpi < READ_DPI * 0.9:
        scale = READ_DPI / dpi
        size = (round(image.width * scale), round(image.height * scale))
        image = image.resize(size, Image.Resampling.LANCZOS)
    return image
