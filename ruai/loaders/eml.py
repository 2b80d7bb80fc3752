"""E-mail (.eml, RFC 822/MIME): the sender, recipients, date and subject, the text body (the
plain part, else the HTML one) decoded from its transfer encoding and charset, and every
attachment parsed by its own format as a section of the mail (the chunks name the attachment)."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from ruai.loaders import html
from ruai.loaders.errors import LoaderError
from ruai.loaders.limits import UNLIMITED, ParseLimits, check_limit
from ruai.loaders.parsed import ParsedText, Section
from ruai.text.decoding import decode_bytes

_HEADERS = (("From", "От"), ("To", "Кому"), ("Cc", "Копия"), ("Date", "Дата"), ("Subject", "Тема"))


def parse(data: bytes, limits: ParseLimits = UNLIMITED) -> ParsedText:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    subject = str(message.get("Subject", "") or "").strip()
    header = "\n".join(f"{label}: {message[name]}" for name, label in _HEADERS if message.get(name))
    blocks: list = [header]
    body = message.get_body(preferencelist=("plain", "html"))
    if body is not None:
        blocks.append(_body_text(body, limits))
    sections = [Section(blocks)]
    attachments = [part for part in message.iter_attachments() if not part.is_multipart()]
    check_limit("max_zip_members", limits.max_zip_members, len(attachments), "attachments")
    ocr_pages = 0
    for number, part in enumerate(attachments, 1):
        name = part.get_filename() or f"attachment-{number}"
        parsed = _attachment(name, part.get_payload(decode=True) or b"", limits)
        ocr_pages += parsed.ocr_pages
        place = ("attachment", name)
        sections.extend(Section(s.blocks, place) for s in parsed.sections)
        sections.append(Section([parsed.text], place))
    return ParsedText(title=subject, sections=sections, ocr_pages=ocr_pages)


def _body_text(part: EmailMessage, limits: ParseLimits) -> str:
    payload = part.get_payload(decode=True) or b""
    if part.get_content_subtype() == "html":
        return html.parse(payload, limits).text
    charset = part.get_content_charset()
    if charset:
        try:
            return payload.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_bytes(payload)[0]


def _attachment(name: str, data: bytes, limits: ParseLimits) -> ParsedText:
    """An attachment parsed by its own format; one that cannot be read says why in the mail's
    text instead of failing the mail."""
    from ruai.loaders.load import detect_format, parse_as  # load imports this module

    if not data:
        return ParsedText()
    try:
        return parse_as(detect_format(name, data), data, limits)
    except LoaderError as exc:
        return ParsedText(f"Вложение {name}: не прочитано ({exc})")
