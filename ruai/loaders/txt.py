"""Plain text in any supported encoding."""

from __future__ import annotations

from ruai.loaders.limits import UNLIMITED, ParseLimits
from ruai.loaders.parsed import ParsedText
from ruai.text.decoding import decode_bytes


def parse(data: bytes, limits: ParseLimits = UNLIMITED) -> ParsedText:
    """Plain text needs no limit of its own: its size and chunk count bound its cost."""
    text, encoding = decode_bytes(data)
    return ParsedText(text=text, encoding=encoding)
