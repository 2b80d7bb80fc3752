"""Words and lemmas for BM25: pymorphy3 normal forms, ё folded, stop words dropped."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from ruai.text.morph import morph_analyzer
from ruai.text.normalize import fold_yo
from ruai.text.stop_words import stop_words

_WORD = re.compile(r"[0-9a-zа-яё]+(?:-[0-9a-zа-яё]+)*")
_CYRILLIC = re.compile(r"[а-яё]")


def _normal_form(word: str) -> str:
    if not _CYRILLIC.search(word):
        return word  # numbers and Latin words are their own lemma
    return fold_yo(morph_analyzer().parse(word)[0].normal_form)


def _analyze(word: str) -> tuple[str, bool, bool]:
    """(lemma, the word is a stop word, the lemma is dropped as a stop word)."""
    lemma = _normal_form(word)
    stops = stop_words()
    word_is_stop = fold_yo(word) in stops
    return lemma, word_is_stop, word_is_stop or lemma in stops


class Lemmatizer:
    """Cheap to create and to pickle: the analyzer and the LRU cache (one entry per distinct
    word: its lemma and stop-word flags) are built on first use."""

    def __init__(self, cache_size: int = 200_000) -> None:
        self.cache_size = cache_size
        self._analysis: Any = None

    def words(self, text: str) -> list[str]:
        """Lower-cased words: Cyrillic and Latin letters, digits, inner hyphens."""
        return _WORD.findall(text.lower())

    def lemmas(self, text: str, drop_stopwords: bool = True) -> list[str]:
        analyses = map(self._cached_analysis(), self.words(text))
        if not drop_stopwords:
            return [lemma for lemma, _, _ in analyses]
        return [lemma for lemma, _, dropped in analyses if not dropped]

    def content_words_and_lemmas(self, text: str) -> tuple[list[str], list[str]]:
        """The words that are not stop words, and ``lemmas(text)``, from one pass."""
        words = self.words(text)
        analyses = list(map(self._cached_analysis(), words))
        content = [w for w, (_, stop, _) in zip(words, analyses, strict=True) if not stop]
        return content, [lemma for lemma, _, dropped in analyses if not dropped]

    def cache_info(self) -> Any:
        """``functools`` cache statistics (hits, misses, maxsize, currsize)."""
        return self._cached_analysis().cache_info()

    def _cached_analysis(self) -> Any:
        if self._analysis is None:
            self._analysis = lru_cache(maxsize=self.cache_size)(_analyze)
        return self._analysis

    def __getstate__(self) -> dict[str, Any]:
        return {"cache_size": self.cache_size}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)
