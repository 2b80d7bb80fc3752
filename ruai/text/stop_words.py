"""Russian and English stop words from spaCy's language data, ё folded to е.

The two ``stop_words.py`` files are plain data; they are executed on their own because importing
``spacy.lang.ru`` pulls in all of spaCy (seconds per process).
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

from ruai.text.normalize import fold_yo


@cache
def stop_words() -> frozenset[str]:
    words: set[str] = set()
    for lang in ("ru", "en"):
        words |= _spacy_stop_words(lang)
    return frozenset(fold_yo(word.lower()) for word in words)


def _spacy_stop_words(lang: str) -> set[str]:
    spacy_spec = importlib.util.find_spec("spacy")
    if spacy_spec is None or spacy_spec.origin is None:
        raise ModuleNotFoundError("spaCy is not installed: it provides the stop word lists")
    path = Path(spacy_spec.origin).parent / "lang" / lang / "stop_words.py"
    spec = importlib.util.spec_from_file_location(f"_spacy_{lang}_stop_words", path)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"spaCy's stop word list is missing: {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return set(module.STOP_WORDS)
