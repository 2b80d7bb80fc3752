"""What a format parser returns: raw text (normalized later), a title if the format has one."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ParsedText:
    text: str
    title: str = ""
    encoding: str | None = None  # for formats stored as encoded text
