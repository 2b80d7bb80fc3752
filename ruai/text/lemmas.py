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


class Lemmatizer:
    """Cheap to create and to pickle: the analyzer and the LRU cache are built on first use."""

    def __init__(self, cache_size: int = 200_000) -> None:
        self.cache_size = cache_size
        self._lemma_of: Any = None

    def words(self, text: str) -> list[str]:
        """Lower-cased words: Cyrillic and Latin letters, digits, inner hyphens."""
        return _WORD.findall(text.lower())

    def lemmas(self, text: str, drop_stopwords: bool = True) -> list[str]:
        lemma_of = self._cached_normal_form()
        stops = stop_words() if drop_stopwords else frozenset()
        lemmas = []
        for word in self.words(text):
            lemma = lemma_of(word)
            if lemma in stops or fold_yo(word) in stops:
                continue
            lemmas.append(lemma)
        return lemmas

    def cache_info(self) -> Any:
        """``functools`` cache statistics (hits, misses, maxsize, currsize)."""
        return self._cached_normal_form().cache_info()

    def _cached_normal_form(self) -> Any:
        if self._lemma_of is None:
            self._lemma_of = lru_cache(maxsize=self.cache_size)(_normal_form)
        return self._lemma_of

    def __getstate__(self) -> dict[str, Any]:
        return {"cache_size": self.cache_size}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)
