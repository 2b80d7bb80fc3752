"""Bytes -> str for Russian documents: BOMs, UTF-16 without a BOM, and the Cyrillic code pages.

Statistical detectors guess short Cyrillic texts badly (two bytes of KOI8-R look like anything),
so every candidate decoding is scored by how Russian it reads: letter frequencies, script and case
consistency inside words, dictionary words (pymorphy3), penalties for control characters and
pseudographics. charset-normalizer only breaks near-ties and names non-Cyrillic encodings.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from functools import cache

from charset_normalizer import from_bytes
from charset_normalizer.constant import FREQUENCIES

from ruai.text.morph import morph_analyzer


class DecodeError(ValueError):
    """The bytes are not text in any encoding we can read; the message says why."""


_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Tried in this order; on an exact tie the earlier one wins.
CYRILLIC_CODEPAGES: tuple[str, ...] = ("cp1251", "koi8-r", "cp866", "iso-8859-5")
WESTERN_CODEPAGE = "cp1252"  # the usual 8-bit encoding of non-Cyrillic European text

_RUSSIAN_LETTERS = frozenset("абвгдеёжзийклмнопрстуфхцчшщъыьэюя")
_OTHER_SLAVIC_LETTERS = frozenset("іїєґў")
_TYPOGRAPHY = frozenset("«»—–…„“”‘’‚№§°±·•")
_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v")
_WORD_RE = re.compile(r"[^\W\d_]+")

_SAMPLE_CHARS = 2000  # per slice; the start, the middle and the end of a long text are scored
_MAX_DICTIONARY_WORDS = 300
_CONTROL_BYTES = (
    bytes(sorted(set(range(0x20)) - {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1A, 0x1B})) + b"\x7f"
)
_NON_CONTROL_BYTES = bytes(b for b in range(256) if b not in _CONTROL_BYTES)
_MAX_CONTROL_BYTE_RATIO = 0.05
_MIN_SCORE = 0.3  # below this no candidate reads as text
_CONFIDENT_SCORE = 1.0
_CONFIDENT_MARGIN = 0.3
_TIEBREAK_BONUS = 0.1
_UTF8_PRIOR = 0.5  # non-ASCII bytes that happen to be valid UTF-8 almost always are UTF-8
# Cyrillic code-page text never stays valid UTF-8 this long: no scoring needed (the common case)
_DECISIVE_UTF8_BYTES = 48


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode ``data`` and name the encoding used; raise :class:`DecodeError` for non-text."""
    if not data:
        return "", "ascii"
    bom_result = _decode_with_bom(data)
    if bom_result is not None:
        return bom_result
    utf16 = _decode_utf16_without_bom(data)
    if utf16 is not None:
        return utf16
    # binary is judged by the share of control bytes, not by their presence: a few stray NULs
    # in a text file are noise that normalize_text removes, not a reason to drop the file
    control_ratio = _control_byte_ratio(data)
    if control_ratio > _MAX_CONTROL_BYTE_RATIO:
        raise DecodeError(
            f"{control_ratio:.0%} of the bytes are control characters (NUL and the like):"
            " binary data"
        )
    if data.isascii():
        return data.decode("ascii"), "ascii"
    return _decode_by_score(data)


def _decode_with_bom(data: bytes) -> tuple[str, str] | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            codec = "utf-8" if encoding == "utf-8-sig" else encoding
            try:
                text = data[len(bom) :].decode(codec)
            except UnicodeDecodeError as exc:
                if bom == codecs.BOM_UTF16_LE or bom == codecs.BOM_UTF16_BE:
                    return None  # two bytes that only look like a BOM (e.g. "яю" in cp1251)
                raise DecodeError(f"starts with a {encoding} byte order mark but {exc}") from exc
            return text, encoding
    return None


def _decode_utf16_without_bom(data: bytes) -> tuple[str, str] | None:
    """UTF-16 text of Latin or Cyrillic letters has 0x00 or 0x04 in every other byte."""
    if len(data) < 2 or len(data) % 2:
        return None
    for encoding, high_bytes in (("utf-16-le", data[1::2]), ("utf-16-be", data[0::2])):
        share = (high_bytes.count(0) + high_bytes.count(4)) / len(high_bytes)
        if share < 0.9:
            continue
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _plausibility(text) >= _MIN_SCORE:
            return text, encoding
    return None


def _control_byte_ratio(data: bytes) -> float:
    sample = data[: 64 * 1024]
    return len(sample.translate(None, _NON_CONTROL_BYTES)) / len(sample)


def _decode_by_score(data: bytes) -> tuple[str, str]:
    """Score every candidate on a sample; decode the whole text only with the winner."""
    sample = _byte_sample(data)
    utf8 = _decode_or_none(data, "utf-8")
    if utf8 is not None and len(data) >= _DECISIVE_UTF8_BYTES:
        return utf8, "utf-8"
    if utf8 is not None:
        scores = {"utf-8": _plausibility(utf8) + _UTF8_PRIOR}
    else:
        # UTF-8 with a few broken bytes (a file cut mid-character) is still UTF-8: replacement
        # characters cost it points, far fewer than a Cyrillic code page read as UTF-8 loses
        scores = {"utf-8": _plausibility(sample.decode("utf-8", errors="replace"))}
    for encoding in (*CYRILLIC_CODEPAGES, WESTERN_CODEPAGE):
        scores[encoding] = _plausibility(sample.decode(encoding, errors="replace"))
    if not _confident(scores):
        _break_tie_with_charset_normalizer(scores, sample)
    ranked = _ranked(scores)
    for encoding, score in ranked:
        if score < _MIN_SCORE:
            break
        if encoding == "utf-8":
            text = utf8 if utf8 is not None else data.decode("utf-8", errors="replace")
        else:
            text = _decode_or_none(data, encoding)
        if text is not None:
            return text, encoding
    best, best_score = ranked[0]
    raise DecodeError(
        f"no candidate encoding yields readable text (best: {best}, score {best_score:.2f})"
    )


def _decode_or_none(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _byte_sample(data: bytes) -> bytes:
    if len(data) <= 3 * _SAMPLE_CHARS:
        return data
    middle = len(data) // 2
    return b" ".join(
        (data[:_SAMPLE_CHARS], data[middle : middle + _SAMPLE_CHARS], data[-_SAMPLE_CHARS:])
    )


def _ranked(scores: dict[str, float]) -> list[tuple[str, float]]:
    order = {name: i for i, name in enumerate(scores)}
    return sorted(scores.items(), key=lambda item: (-item[1], order[item[0]]))


def _confident(scores: dict[str, float]) -> bool:
    ranked = _ranked(scores)
    if ranked[0][1] < _CONFIDENT_SCORE:
        return False
    return len(ranked) == 1 or ranked[0][1] - ranked[1][1] >= _CONFIDENT_MARGIN


def _break_tie_with_charset_normalizer(scores: dict[str, float], sample: bytes) -> None:
    best = from_bytes(sample).best()
    if best is None:
        return
    guessed = codecs.lookup(best.encoding).name
    for name, score in scores.items():
        if codecs.lookup(name).name == guessed:
            scores[name] = score + _TIEBREAK_BONUS
            return
    scores[guessed] = _plausibility(sample.decode(guessed, errors="replace")) + _TIEBREAK_BONUS


def _plausibility(text: str) -> float:
    """Average per visible character: high for Russian prose, near zero for other Latin-script
    text, negative for mojibake and binary junk."""
    sample = _sample(text)
    visible = sum(1 for ch in sample if not ch.isspace())
    if not visible:
        return 0.0
    total = sum(_char_score(ch) for ch in sample)
    total += _words_score(_WORD_RE.findall(sample))
    return total / visible


def _sample(text: str) -> str:
    if len(text) <= 3 * _SAMPLE_CHARS:
        return text
    middle = len(text) // 2
    return " ".join(
        (text[:_SAMPLE_CHARS], text[middle : middle + _SAMPLE_CHARS], text[-_SAMPLE_CHARS:])
    )


@cache
def _char_score(ch: str) -> float:
    if ch.isspace() and (ch in _ALLOWED_CONTROLS or not unicodedata.category(ch).startswith("C")):
        return 0.0
    lower = ch.lower()
    if lower in _RUSSIAN_LETTERS:
        return 1.0 + _common_letter_bonus().get(lower, 0.0)
    if ch.isascii():
        if ch.isalpha():
            return 0.5
        return -4.0 if unicodedata.category(ch) == "Cc" else 0.0
    if ch in _TYPOGRAPHY:
        return 0.0
    if "\u2500" <= ch <= "\u259f":  # box drawing and blocks: the DOS code pages' pseudographics
        return -3.0
    category = unicodedata.category(ch)
    if category.startswith("C") or ch == "\ufffd":
        return -4.0
    if ch.isalpha():
        return _foreign_letter_score(ch, lower)
    if category in ("So", "Sk", "Sm", "Sc"):
        return -1.0
    return 0.0


def _foreign_letter_score(ch: str, lower: str) -> float:
    if lower in _OTHER_SLAVIC_LETTERS:
        return 0.0
    if "\u0400" <= ch <= "\u04ff":
        return -1.0  # Serbian/Macedonian/archaic letters: Cyrillic mojibake, not Russian text
    if "\u00c0" <= ch <= "\u024f":
        return 0.0  # accented Latin: Western European text
    return -2.0


@cache
def _common_letter_bonus() -> dict[str, float]:
    ranked = FREQUENCIES["Russian"]
    return {letter: (len(ranked) - rank) / len(ranked) for rank, letter in enumerate(ranked)}


def _words_score(words: list[str]) -> float:
    score = 0.0
    dictionary_checks = 0
    for word in words:
        cyrillic = sum(1 for ch in word if "\u0400" <= ch <= "\u04ff")
        if 0 < cyrillic < len(word):
            score -= 2.0 * len(word)  # Latin and Cyrillic mixed inside one word
            continue
        if not (word.islower() or word.isupper() or word.istitle()):
            score -= 1.5 * len(word)  # "пРИВЕТ": case flipped by the wrong code page
            continue
        if cyrillic > 1 and word.isupper():
            score -= 0.5 * len(word)  # capitals are rarer than lower case: "мне" vs "НОЕ"
        if cyrillic and dictionary_checks < _MAX_DICTIONARY_WORDS:
            dictionary_checks += 1
            if morph_analyzer().word_is_known(word):
                score += len(word)
    return score
