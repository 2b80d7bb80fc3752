"""Plain text in any supported encoding."""

from __future__ import annotations

from ruai.loaders.parsed import ParsedText
from ruai.text.decoding import decode_bytes


def parse(data: bytes) -> ParsedText:
    text, encoding = decode_bytes(data)
    return ParsedText(text=text, encoding=encoding)
