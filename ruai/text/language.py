"""The one language decision the platform needs: Russian, or something else."""

from __future__ import annotations

_SAMPLE_CHARS = 100_000


def language_of(text: str) -> str:
    """``"ru"`` when most letters are Cyrillic, else ``"other"``."""
    sample = text[:_SAMPLE_CHARS]
    letters = cyrillic = 0
    for ch in sample:
        if ch.isalpha():
            letters += 1
            cyrillic += "\u0400" <= ch <= "\u04ff"
    return "ru" if letters and cyrillic / letters > 0.5 else "other"
