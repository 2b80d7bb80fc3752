"""Map retrieved chunk text back to the SQuAD paragraph it came from, for paragraph-level metrics.

The ingest chunker never crosses a paragraph break, so a chunk's text is a substring of one
paragraph once both sides are normalised the same way: NFKC (so an ingest-side NFC/NFKC pass or
no-break spaces do not matter), U+FEFF and soft hyphens (U+00AD) removed, every run of whitespace
collapsed to one space, ends stripped.
"""

from __future__ import annotations

import bisect
import re
import unicodedata

from ruai.eval.squad import Paragraph, Question

_INVISIBLE = re.compile("[\ufeff\u00ad]")
_WHITESPACE = re.compile(r"\s+")
# Never left in normalised text, so a match cannot run from one paragraph into the next.
_SEPARATOR = "\n"


def normalise_for_matching(text: str) -> str:
    text = unicodedata.normalize("NFKC", _INVISIBLE.sub("", text))
    return _WHITESPACE.sub(" ", text).strip()


def gold_paragraph_id(question: Question) -> str:
    """The id of the paragraph holding the question's answer, as ``ParagraphIndex`` returns it."""
    return question.paragraph_id


class ParagraphIndex:
    """Substring lookup over all paragraphs, concatenated with offsets.

    Every lookup is an exact search of the normalised chunk in the normalised corpus, so it
    cannot confuse two paragraphs; a chunk found in two different paragraphs is ambiguous.
    """

    def __init__(self, paragraphs: list[Paragraph]) -> None:
        if not paragraphs:
            raise ValueError("ParagraphIndex needs at least one paragraph")
        self._ids = [p.paragraph_id for p in paragraphs]
        if len(set(self._ids)) != len(self._ids):
            raise ValueError("paragraph ids must be unique (article_index, paragraph_index)")
        normalised = [normalise_for_matching(p.context) for p in paragraphs]
        self._starts: list[int] = []
        offset = 0
        for text in normalised:
            self._starts.append(offset)
            offset += len(text) + len(_SEPARATOR)
        self._corpus = _SEPARATOR.join(normalised)

    def __len__(self) -> int:
        return len(self._ids)

    def paragraph_ids_of(self, chunk_text: str) -> list[str]:
        """Ids of every paragraph that contains the chunk, in corpus order."""
        needle = normalise_for_matching(chunk_text)
        if not needle:
            return []
        found: list[str] = []
        position = self._corpus.find(needle)
        while position != -1:
            slot = bisect.bisect_right(self._starts, position) - 1
            found.append(self._ids[slot])
            if slot + 1 == len(self._starts):
                break
            position = self._corpus.find(needle, self._starts[slot + 1])
        return found

    def paragraph_of(self, chunk_text: str) -> str | None:
        """The id of the one paragraph containing the chunk; None if none or several do."""
        found = self.paragraph_ids_of(chunk_text)
        return found[0] if len(found) == 1 else None
