"""The data model: a Document (one source file) and its Chunks, with stable ids."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

# Where a part of a document is, as its citations name it: ("page", 12), ("slide", 3),
# ("sheet", "Тарифы"); None where the format has no such place.
Place = tuple[str, int | str]
# the payload fields a citation names a place by: those, and an e-mail attachment's name
PLACE_KINDS = ("page", "slide", "sheet", "attachment")

# A fixed namespace so that ids are the same on every machine and every run.
RUAI_NAMESPACE = uuid.UUID("6f1b7a52-3c1e-5d1a-9a55-2a3f0c7e4b10")


def doc_id_for(source: str, tenant: str) -> str:
    """Stable document id derived from the source URI, per tenant (two tenants never share ids)."""
    return str(uuid.uuid5(RUAI_NAMESPACE, f"{tenant}\x00{source}"))


def chunk_id_for(doc_id: str, index: int) -> str:
    """Stable chunk id: ``uuid5(doc_id, index)``; it is the Qdrant point id."""
    return str(uuid.uuid5(uuid.UUID(doc_id), str(index)))


def place_fields(place: Place | None) -> dict[str, int | str]:
    """A place as a payload and a citation carry it: {"page": 12}; {} without one."""
    return {} if place is None else {place[0]: place[1]}


def content_hash_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class TableLayout:
    """A table inside a document's text: the lines every chunk of it repeats (caption or
    preceding heading, then the header row) and the span of each following row."""

    heading: str
    rows: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class Part:
    """A span of a document's text that chunks never cross: a page's, slide's or sheet's text,
    or one table (chunked by rows)."""

    start: int
    end: int
    place: Place | None = None
    table: TableLayout | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file carried inside a document (an e-mail's attachment): ingested as its own document."""

    name: str
    data: bytes


@dataclass(slots=True)
class Document:
    source: str
    text: str
    title: str = ""
    content_hash: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    # in text order, covering every paragraph; empty: the whole text is one part without a place
    parts: list[Part] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)


@dataclass(slots=True)
class Chunk:
    doc_id: str
    index: int
    text: str
    char_start: int
    char_end: int
    place: Place | None = None
    lemmas: list[str] = field(default_factory=list)
    entities: list[dict[str, str]] = field(default_factory=list)

    @property
    def chunk_id(self) -> str:
        return chunk_id_for(self.doc_id, self.index)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"chunk_id": self.chunk_id}
