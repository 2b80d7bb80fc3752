"""The one language decision the platform needs: Russian, or something else."""

from __future__ import annotations

import re

_SAMPLE_CHARS = 100_000
_LETTER = re.compile(r"[^\W\d_]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def language_of(text: str) -> str:
    """``"ru"`` when most letters are Cyrillic, else ``"other"``."""
    sample = text[:_SAMPLE_CHARS]
    letters = len(_LETTER.findall(sample))
    cyrillic = len(_CYRILLIC.findall(sample))
    return "ru" if letters and cyrillic / letters > 0.5 else "other"
