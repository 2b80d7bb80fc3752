"""The process-wide pymorphy3 analyzer, created on first use (loading it takes a moment)."""

from __future__ import annotations

from functools import cache

import pymorphy3


@cache
def morph_analyzer() -> pymorphy3.MorphAnalyzer:
    return pymorphy3.MorphAnalyzer(lang="ru")
