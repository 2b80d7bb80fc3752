"""HTML: visible text with its paragraph structure; scripts, styles, navigation and footers
dropped; each (outermost) table kept as rows under its caption or the heading before it.
Decoded with the declared charset when there is one."""

from __future__ import annotations

import codecs
import re

from bs4 import BeautifulSoup, NavigableString, Tag

from ruai.loaders.limits import UNLIMITED, ParseLimits, check_limit
from ruai.loaders.parsed import ParsedText, Section, Table
from ruai.text.decoding import decode_bytes

_DECLARED_CHARSET = re.compile(
    rb"""<meta\s[^>]*charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)"""
    rb"""|<\?xml\s[^>]*encoding\s*=\s*["']([A-Za-z0-9._:-]+)""",
    re.IGNORECASE,
)
_DROPPED = ("script", "style", "nav", "footer", "noscript", "template", "head", "svg", "iframe")
_LINE_BREAKS = ("br", "li", "tr", "dt", "dd")
_CELLS = ("td", "th")
_BLOCKS = (
    "address", "article", "aside", "blockquote", "caption", "details", "div", "dl",
    "fieldset", "figcaption", "figure", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "main", "ol", "p", "pre", "section", "summary", "table", "ul",
)  # fmt: skip
_PREFORMATTED = ("pre", "textarea")
_WHITESPACE = re.compile(r"\s+")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
# where a table stood in the page's text: a private-use character around its number
_TABLE_MARK = re.compile("\ue000(\\d+)\ue000")


def parse(data: bytes, limits: ParseLimits = UNLIMITED) -> ParsedText:
    text, encoding = _decode(data)
    soup = BeautifulSoup(text, "lxml")
    # building the tree is linear; walking a deep one (find_parent per string) is not
    check_limit("max_markup_depth", limits.max_markup_depth, _depth(soup), "HTML nesting depth")
    title = _title(soup)
    for element in soup.find_all(_DROPPED):
        element.decompose()
    _collapse_source_whitespace(soup)
    tables = _take_tables(soup)
    for element in soup.find_all(_BLOCKS):
        element.insert_before("\n\n")
        element.insert_after("\n\n")
    for element in soup.find_all(_LINE_BREAKS):
        element.insert_after("\n")
    for element in soup.find_all(_CELLS):
        element.insert_after(" ")
    text = soup.get_text()
    if not tables:
        return ParsedText(text, title, encoding)
    pieces = _TABLE_MARK.split(text)
    blocks: list[str | Table] = [
        tables[int(piece)] if i % 2 else piece for i, piece in enumerate(pieces)
    ]
    return ParsedText(title=title, encoding=encoding, sections=[Section(blocks)])


def _take_tables(soup: BeautifulSoup) -> list[Table]:
    """The outermost tables as :class:`Table`, each replaced in the tree by its mark."""
    tables = []
    for element in soup.find_all("table"):
        if element.find_parent("table") is not None:
            continue
        caption = element.find("caption")
        heading = element.find_previous(_HEADINGS)
        rows = [
            [cell.get_text(" ", strip=True) for cell in row.find_all(_CELLS, recursive=False)]
            for row in element.find_all("tr")
            if row.find_parent("table") is element
        ]
        tables.append(
            Table(
                rows,
                caption=caption.get_text(" ", strip=True) if caption is not None else "",
                context=heading.get_text(" ", strip=True) if heading is not None else "",
            )
        )
        element.replace_with(f"\n\n\ue000{len(tables) - 1}\ue000\n\n")
    return tables


def _decode(data: bytes) -> tuple[str, str]:
    """The charset the page declares wins, unless a BOM says otherwise or it does not decode."""
    declared = _declared_charset(data[:4096])
    if declared and not data.startswith(
        (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    ):
        try:
            return data.decode(declared), declared
        except UnicodeDecodeError:
            pass
    return decode_bytes(data)


def _declared_charset(head: bytes) -> str | None:
    match = _DECLARED_CHARSET.search(head)
    if match is None:
        return None
    name = (match.group(1) or match.group(2)).decode("ascii")
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    # a page that reached a byte-oriented parser is not UTF-16/32, whatever it says (so do browsers)
    return None if codec.startswith(("utf-16", "utf-32")) else codec


def _title(soup: BeautifulSoup) -> str:
    for tag in ("title", "h1"):
        element = soup.find(tag)
        if element is not None and (text := element.get_text(" ", strip=True)):
            return _WHITESPACE.sub(" ", text)
    return ""


def _collapse_source_whitespace(soup: BeautifulSoup) -> None:
    """Newlines in HTML source are plain spaces, except inside preformatted blocks."""
    for string in soup.find_all(string=True):
        if type(string) is NavigableString and string.find_parent(_PREFORMATTED) is None:
            string.replace_with(_WHITESPACE.sub(" ", string))


def _depth(soup: BeautifulSoup) -> int:
    """The deepest element's nesting level, without recursion (a page may nest 100 000 divs)."""
    deepest = 0
    stack = [(soup, 0)]
    while stack:
        element, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in element.children if isinstance(child, Tag))
    return deepest
