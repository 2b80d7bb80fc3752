"""Is a PDF page's text layer real text? A scan has none; a page set in fonts without a
character map yields private-use code points, replacement characters, or letters of the
wrong code page ("Ð¡Ð¾Ð³Ð»" for «Согл»): such a page is read by OCR instead."""

from __future__ import annotations

import unicodedata

MIN_CHARS = 16  # fewer visible characters: a page number or a stamp, not the page's text
MIN_GOOD_SHARE = 0.8
MAX_MOJIBAKE_SHARE = 0.2


def needs_ocr(text: str, has_images: bool) -> bool:
    """A page with garbage for text, or with images and (almost) no text."""
    visible = sum(1 for char in text if not char.isspace())
    if visible < MIN_CHARS:
        return has_images
    return not is_real_text(text)


def is_real_text(text: str) -> bool:
    chars = [char for char in text if not char.isspace()]
    if len(chars) < MIN_CHARS:
        return False
    good = mojibake = 0
    for char in chars:
        category = unicodedata.category(char)
        if "\u00c0" <= char <= "\u00ff":
            mojibake += 1
        if category[0] in "LNPS" and category not in ("Co", "So") and char != "\ufffd":
            good += 1
    return good >= MIN_GOOD_SHARE * len(chars) and mojibake <= MAX_MOJIBAKE_SHARE * len(chars)
