"""Text clean-up before chunking: one Unicode form without stress marks, no invisible characters,
lines re-flowed into paragraphs separated by exactly one blank line."""

from __future__ import annotations

import re
import unicodedata

# stress marks (Москва́, столи́ца) are not part of the word: without them a word is one token;
# NFC has no precomposed Cyrillic with an acute, and folds only е/и with a grave (ѐ, ѝ)
_STRESSED = re.compile("[\u0300\u0301\u0400\u040d\u0450\u045d]")
_STRESS_MARK = re.compile("(?<=[А-Яа-я])[\u0300\u0301]")
_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u00ad\u200b\u200c\u200d\u2060\u180e"))
_YO = str.maketrans("ёЁ", "еЕ")

# A hyphen at a line end followed by a lower-case letter is a word broken by typesetting
# ("инфор-\nмация"); a real hyphenated word ("кто-\nто", "кое-\nкто", "из-\nза", "по-\nрусски",
# "во-\nвторых", "северо-\nзападный") keeps its hyphen.
_HYPHEN_AT_LINE_END = r"-[ \t]*\n[ \t]*"
_KEEP_HYPHEN = re.compile(
    rf"(?i)(?:(?<=\w){_HYPHEN_AT_LINE_END}(?=(?:то|либо|нибудь|ка|таки)(?!\w))"
    rf"|(?<=\bко[ей]){_HYPHEN_AT_LINE_END}"
    rf"|(?<=\bиз){_HYPHEN_AT_LINE_END}(?=(?:за|под)(?!\w))"
    rf"|(?<=\bпо){_HYPHEN_AT_LINE_END}(?=[а-яё]+(?:ски|цки|ему|ому)(?!\w))"
    rf"|(?<=\bво){_HYPHEN_AT_LINE_END}(?=(?:первых|вторых)(?!\w))"
    rf"|(?<=\bв){_HYPHEN_AT_LINE_END}(?=(?:третьих|четв[её]ртых|пятых)(?!\w))"
    rf"|(?:(?<=\bсеверо)|(?<=\bюго)){_HYPHEN_AT_LINE_END})"
)
_BROKEN_WORD = re.compile(rf"(?<=[^\W\d_]){_HYPHEN_AT_LINE_END}(?=[a-zа-яё])")
_SOFT_HYPHEN_BREAK = re.compile(r"\u00ad[ \t]*\n[ \t]*")
_LINE_BREAKS = re.compile(r"\r\n?|[\v\u0085\u2028]")
_PARAGRAPH_BREAKS = re.compile(r"[\f\u2029]")
_BLANK_LINE = re.compile(r"\n(?:[ \t]*\n)+")
_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")
# C0 controls other than the whitespace ones, DEL and the C1 block: stray NULs and escapes that
# text files and PDF text layers carry; none is text
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")


def normalize_text(text: str) -> str:
    text = _CONTROLS.sub("", text)
    text = canonical_letters(text)
    text = _LINE_BREAKS.sub("\n", text)
    text = _PARAGRAPH_BREAKS.sub("\n\n", text)
    text = _SOFT_HYPHEN_BREAK.sub("", text)
    text = text.translate(_INVISIBLE)
    text = _KEEP_HYPHEN.sub("-", text)
    text = _BROKEN_WORD.sub("", text)
    text = _HORIZONTAL_SPACE.sub(" ", text)
    paragraphs = (_reflow(block) for block in _BLANK_LINE.split(text))
    return "\n\n".join(p for p in paragraphs if p)


def canonical_letters(text: str) -> str:
    """NFC, without stress marks on Cyrillic letters: how documents are stored and queries
    are read, so «Москва́» and a decomposed «й» match what the index holds."""
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if not _STRESSED.search(text):
        return text
    unstressed = _STRESS_MARK.sub("", unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFC", unstressed)


def _reflow(paragraph: str) -> str:
    return " ".join(line.strip() for line in paragraph.split("\n") if line.strip())


def fold_yo(text: str) -> str:
    """ё -> е, Ё -> Е: the spelling most Russian text and queries use."""
    return text.translate(_YO)
