"""RTF: the text of the document, decoded with the code page it declares (\\ansicpg1251,
per-font \\fcharset) and its \\'xx and \\uN escapes (striprtf)."""

from __future__ import annotations

from striprtf.striprtf import rtf_to_text

from ruai.loaders.limits import UNLIMITED, ParseLimits, check_limit
from ruai.loaders.parsed import ParsedText


def parse(data: bytes, limits: ParseLimits = UNLIMITED) -> ParsedText:
    # RTF is 7-bit: anything else is escaped, so latin-1 maps its bytes one to one
    markup = data.decode("latin-1")
    check_limit("max_markup_depth", limits.max_markup_depth, _depth(markup), "RTF group depth")
    text = rtf_to_text(markup, encoding="cp1252", errors="replace")
    return ParsedText(text.replace("\n", "\n\n"))  # striprtf ends each \par with one "\n"


def _depth(markup: str) -> int:
    deepest = depth = 0
    escaped = False
    for char in markup:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "{":
            depth += 1
            deepest = max(deepest, depth)
        elif char == "}":
            depth -= 1
    return deepest
