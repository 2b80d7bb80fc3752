"""Markdown: markup stripped, text of headings, links and code kept, images dropped, paragraphs
kept. Line-based: enough for search text, not a CommonMark renderer."""

from __future__ import annotations

import re

from ruai.loaders.limits import UNLIMITED, ParseLimits
from ruai.loaders.parsed import ParsedText
from ruai.text.decoding import decode_bytes

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_FRONT_MATTER_TITLE = re.compile(r"^title:[ \t]*([\"']?)(.+?)\1[ \t]*$", re.MULTILINE)
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
_ATX_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT_UNDERLINE = re.compile(r"^[ \t]{0,3}(?:=+|-+)[ \t]*$")
_RULE = re.compile(r"^[ \t]{0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$")
_REFERENCE_DEFINITION = re.compile(r"^[ \t]{0,3}\[[^\]]+\]:[ \t]*\S")
_TABLE_DELIMITER_ROW = re.compile(r"^[ \t]*\|?(?:[ \t]*:?-+:?[ \t]*\|)+[ \t]*(?::?-+:?)?[ \t]*$")
_BLOCK_PREFIX = re.compile(
    r"^[ \t]*(?:>[ \t]?)*[ \t]*(?:[-*+][ \t]+(?:\[[ xX]\][ \t]+)?|\d{1,9}[.)][ \t]+)?"
)

_INLINE_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"!\[[^\]]*\]\([^)]*\)|!\[[^\]]*\]\[[^\]]*\]"), ""),  # images
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # [text](url)
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # [text][ref]
    (re.compile(r"<((?:https?|ftp|mailto):[^>\s]+)>"), r"\1"),  # autolinks
    (re.compile(r"</?[A-Za-z][^>]*>"), ""),  # inline HTML tags
    (re.compile(r"(`+)(.+?)\1"), r"\2"),  # inline code
    (re.compile(r"(\*\*|(?<!\w)__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),  # strong
    (re.compile(r"(\*|(?<!\w)_)(?=\S)(.+?)(?<=\S)\1(?!\w)"), r"\2"),  # emphasis
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),  # strikethrough
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!>|~])"), r"\1"),  # backslash escapes
)


def parse(data: bytes, limits: ParseLimits = UNLIMITED) -> ParsedText:
    """Plain text needs no limit of its own: its size and chunk count bound its cost."""
    text, encoding = decode_bytes(data)
    title, text = _split_front_matter(text)
    lines: list[str] = []
    headings: list[str] = []
    fence: str | None = None
    for line in text.splitlines():
        if fence is not None:
            if line.strip().startswith(fence):
                fence = None
                lines.append("")
            else:
                lines.append(line)
            continue
        if opening := _FENCE.match(line):
            fence = opening.group(1)
            lines.append("")
        elif heading := _ATX_HEADING.match(line):
            _add_heading(lines, headings, _strip_inline(heading.group(1) or ""))
        elif _SETEXT_UNDERLINE.match(line) and lines and lines[-1].strip():
            _add_heading(lines, headings, lines.pop())
        elif _RULE.match(line):
            lines.append("")
        elif not (_REFERENCE_DEFINITION.match(line) or _TABLE_DELIMITER_ROW.match(line)):
            lines.append(_strip_inline(_table_row(_BLOCK_PREFIX.sub("", line, count=1))))
    return ParsedText("\n".join(lines), title or next(iter(headings), ""), encoding)


def _split_front_matter(text: str) -> tuple[str, str]:
    """A YAML front matter block is metadata, not text; its ``title:`` is the title."""
    match = _FRONT_MATTER.match(text)
    if match is None:
        return "", text
    title = _FRONT_MATTER_TITLE.search(match.group(1))
    return (title.group(2).strip() if title else ""), text[match.end() :]


def _add_heading(lines: list[str], headings: list[str], heading: str) -> None:
    """A heading is a paragraph of its own."""
    if heading:
        headings.append(heading)
        lines.extend(("", heading, ""))


def _table_row(line: str) -> str:
    if not line.lstrip().startswith("|"):
        return line
    cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
    return " | ".join(cell for cell in cells if cell)


def _strip_inline(text: str) -> str:
    for pattern, replacement in _INLINE_RULES:
        text = pattern.sub(replacement, text)
    return text
