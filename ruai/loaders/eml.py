"""E-mail (.eml, RFC 822/MIME): the sender, recipients, date and subject, the text body (the
plain part, else the HTML one) decoded from its transfer encoding and charset, and the names of
its attachments. Each attachment of a format ingestion reads comes back whole: ingestion parses it
as a document of its own, linked to the mail (ruai/ingest/processing.py)."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from ruai.ingest.documents import Attachment
from ruai.loaders import html
from ruai.loaders.limits import UNLIMITED, ParseLimits, check_limit
from ruai.loaders.parsed import ParsedText, Section
from ruai.text.decoding import decode_bytes

_HEADERS = (("From", "От"), ("To", "Кому"), ("Cc", "Копия"), ("Date", "Дата"), ("Subject", "Тема"))


def parse(data: bytes, limits: ParseLimits = UNLIMITED) -> ParsedText:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    subject = str(message.get("Subject", "") or "").strip()
    header = [f"{label}: {message[name]}" for name, label in _HEADERS if message.get(name)]
    parts = [part for part in message.iter_attachments() if not part.is_multipart()]
    check_limit("max_zip_members", limits.max_zip_members, len(parts), "attachments")
    attachments = _attachments(parts)
    if parts:
        names = [part.get_filename() or f"attachment-{n}" for n, part in enumerate(parts, 1)]
        header.append(f"Вложения: {', '.join(names)}")
    blocks: list = ["\n".join(header)]
    body = message.get_body(preferencelist=("plain", "html"))
    if body is not None:
        blocks.append(_body_text(body, limits))
    return ParsedText(title=subject, sections=[Section(blocks)], attachments=attachments)


def _attachments(parts: list[EmailMessage]) -> list[Attachment]:
    """The attachments of a format ingestion reads, each under a name of its own in the mail
    (a repeated file name gets its number)."""
    from ruai.loaders.load import readable_format  # load imports this module

    attachments: list[Attachment] = []
    names: set[str] = set()
    for number, part in enumerate(parts, 1):
        name = part.get_filename() or f"attachment-{number}"
        data = part.get_payload(decode=True) or b""
        if not data or readable_format(name, data) is None:
            continue
        if name in names:
            name = f"{number}-{name}"
        names.add(name)
        attachments.append(Attachment(name, data))
    return attachments


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
