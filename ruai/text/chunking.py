"""Sentence-aware chunking with a hard token limit.

Whole sentences are packed into a chunk while it fits ``max_tokens``; a paragraph always starts a
new chunk; consecutive chunks of one paragraph share ``overlap_sentences`` sentences. A sentence
longer than the limit is split between words, a word longer than the limit between characters.
Tokens are counted once per piece and summed (with the whitespace between pieces), then every
chunk is checked with one real count, so the cost stays linear in the text length.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate, pairwise

from ruai.text.sentences import sentences_by_paragraph

TokenCounter = Callable[[str], int]

_WORD = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class TextSpan:
    start: int
    end: int
    text: str
    # the page, slide or sheet it lies on (ruai.ingest.documents.Place)
    place: tuple[str, int | str] | None = None


def count_words(text: str) -> int:
    """The default token counter: whitespace-separated words."""
    return sum(1 for _ in _WORD.finditer(text))


def chunk_text(
    text: str,
    max_tokens: int,
    count_tokens: TokenCounter = count_words,
    overlap_sentences: int = 1,
) -> list[TextSpan]:
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
    if overlap_sentences < 0:
        raise ValueError(f"overlap_sentences must be >= 0, got {overlap_sentences}")
    packer = _Packer(text, max_tokens, count_tokens)
    chunks = []
    for sentences in sentences_by_paragraph(text):
        pieces = [piece for start, end in sentences for piece in packer.fitting(start, end)]
        chunks.extend(packer.pack(pieces, overlap_sentences))
    return [TextSpan(start, end, text[start:end]) for start, end, _ in chunks]


def chunk_table(
    text: str,
    heading: str,
    rows: tuple[tuple[int, int], ...],
    max_tokens: int,
    count_tokens: TokenCounter = count_words,
) -> list[TextSpan]:
    """A table's rows (spans of ``text``) packed into chunks that each start with ``heading``
    (caption and header row): a chunk never ends inside a row. A row that does not fit with
    the heading on its own is split like text, each piece still under the heading (or without
    it, when the heading alone takes half the limit)."""
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
    head = heading + "\n" if heading else ""
    room = max_tokens - count_tokens(head) if head else max_tokens
    if room < max_tokens // 2:
        head, room = "", max_tokens
    sizes = [count_tokens(text[start:end]) for start, end in rows]
    newline = count_tokens("\n")
    chunks: list[TextSpan] = []
    first = 0
    while first < len(rows):
        start, end = rows[first]
        if sizes[first] > room:
            for piece in chunk_text(text[start:end], room, count_tokens, overlap_sentences=0):
                chunks.append(TextSpan(start + piece.start, start + piece.end, head + piece.text))
            first += 1
            continue
        last, estimate = first, sizes[first]
        while last + 1 < len(rows) and estimate + newline + sizes[last + 1] <= room:
            last += 1
            estimate += newline + sizes[last]
        # counters need not be additive: the real count decides, one row always fits
        while (
            last > first and count_tokens(head + _rows_text(text, rows, first, last)) > max_tokens
        ):
            last -= 1
        chunks.append(
            TextSpan(rows[first][0], rows[last][1], head + _rows_text(text, rows, first, last))
        )
        first = last + 1
    return chunks


def _rows_text(text: str, rows: tuple[tuple[int, int], ...], first: int, last: int) -> str:
    return "\n".join(text[start:end] for start, end in rows[first : last + 1])


# (start, end, tokens): a run of text that fits the limit on its own
_Piece = tuple[int, int, int]


class _Packer:
    def __init__(self, text: str, max_tokens: int, count_tokens: TokenCounter) -> None:
        self.text = text
        self.max_tokens = max_tokens
        self.count_tokens = count_tokens
        self._gap_tokens: dict[str, int] = {}

    def count(self, start: int, end: int) -> int:
        return self.count_tokens(self.text[start:end])

    def gap(self, start: int, end: int) -> int:
        """Tokens of the whitespace between two pieces; there are few distinct gaps, so cache."""
        gap = self.text[start:end]
        if gap not in self._gap_tokens:
            self._gap_tokens[gap] = self.count_tokens(gap)
        return self._gap_tokens[gap]

    def fitting(self, start: int, end: int) -> list[_Piece]:
        """The span itself if it fits, else its words packed into pieces that fit."""
        tokens = self.count(start, end)
        if tokens <= self.max_tokens:
            return [(start, end, tokens)]
        words: list[_Piece] = []
        for match in _WORD.finditer(self.text, start, end):
            words.extend(self.fitting_word(*match.span()))
        return self.pack(words, overlap=0)

    def fitting_word(self, start: int, end: int) -> list[_Piece]:
        """The word itself if it fits, else cut between characters; the length of a piece is
        re-estimated from each count."""
        tokens = self.count(start, end)
        if tokens <= self.max_tokens:
            return [(start, end, tokens)]
        pieces = []
        length = max(1, (end - start) * self.max_tokens // tokens)
        while start < end:
            length = min(length, end - start)
            tokens = self.count(start, start + length)
            while tokens > self.max_tokens:
                if length == 1:
                    raise ValueError(
                        f"max_tokens={self.max_tokens} is smaller than the token count "
                        f"({tokens}) of the single character {self.text[start]!r}"
                    )
                length = max(1, min(length - 1, length * self.max_tokens // tokens))
                tokens = self.count(start, start + length)
            pieces.append((start, start + length, tokens))
            start += length
        return pieces

    def pack(self, pieces: list[_Piece], overlap: int) -> list[_Piece]:
        """Greedy packing of pieces into chunks that fit; a chunk after the first may start
        with up to ``overlap`` pieces of the previous one when a new piece still fits."""
        if not pieces:
            return []
        gaps = [0] + [self.gap(prev[1], cur[0]) for prev, cur in pairwise(pieces)]
        # cumulative[i]: estimated tokens of pieces[0..i] with the whitespace between them
        cumulative = list(accumulate(p[2] + gap for p, gap in zip(pieces, gaps, strict=True)))

        def estimate(first: int, last: int) -> int:
            return cumulative[last] - cumulative[first] + pieces[first][2]

        chunks: list[tuple[int, int, int, int]] = []
        first_new = 0
        while first_new < len(pieces):
            first = first_new
            if chunks:
                for shared in range(min(overlap, first_new), 0, -1):
                    if estimate(first_new - shared, first_new) <= self.max_tokens:
                        first = first_new - shared
                        break
            last = first_new
            while last + 1 < len(pieces) and estimate(first, last + 1) <= self.max_tokens:
                last += 1
            chunks.append(self._confirmed(pieces, first, first_new, last))
            first_new = chunks[-1][3] + 1
        return [chunk[:3] for chunk in chunks]

    def _confirmed(
        self, pieces: list[_Piece], first: int, first_new: int, last: int
    ) -> tuple[int, int, int, int]:
        """Shrink the estimated chunk until its real count fits (counters need not be additive):
        drop trailing pieces first, then shared ones; one piece alone always fits.
        Returns (start, end, tokens, index of the last piece)."""
        while first < last:
            tokens = self.count(pieces[first][0], pieces[last][1])
            if tokens <= self.max_tokens:
                return pieces[first][0], pieces[last][1], tokens, last
            if last > first_new:
                last -= 1
            else:
                first += 1
        return *pieces[first], last
