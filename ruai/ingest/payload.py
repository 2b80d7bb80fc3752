"""The payload of a store point (DESIGN.md's schema) and its one builder: every point ingestion
writes, through the Ray pipeline or in-process, gets its payload from ``chunk_payload``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

from ruai.ingest.documents import Chunk, place_fields

if TYPE_CHECKING:
    from ruai.ingest.processing import ProcessedDocument


class ChunkPayload(TypedDict):
    """The payload of one point (DESIGN.md's schema); ``tenant``, ``doc_id`` and ``source`` are
    indexed (ruai.store.base.INDEXED_FIELDS)."""

    text: str
    source: str
    title: str
    doc_id: str
    chunk_index: int
    # how many chunks the document has: a doc_state with fewer points is incomplete (a write
    # cut off part-way) and gets re-ingested; points written before this field lack it
    chunk_count: int
    char_start: int
    char_end: int
    content_hash: str
    tenant: str
    entities: list[Any]
    format: str
    language: str
    # the object store's change marker of the source ("size:mtime"; "" for local files): a
    # re-run skips the object at listing time when it is unchanged (DocState.marker)
    source_marker: str
    # where the chunk lies (ruai.ingest.documents.Place), in the formats that have one: a PDF's or
    # a scan's page (1-based), a DOCX page after explicit page breaks, a slide, a sheet
    page: NotRequired[int]
    slide: NotRequired[int]
    sheet: NotRequired[str]
    # an e-mail attachment's document: its name in the mail, and the mail's source (ingestion
    # replaces and prunes it with the mail)
    attachment: NotRequired[str]
    parent_source: NotRequired[str]
    # who may read it: access labels (ruai/identity/access.py); empty: the whole tenant
    access: list[str]


def chunk_payload(
    processed: ProcessedDocument,
    chunk: Chunk,
    tenant: str,
    source_marker: str = "",
    access: list[str] | None = None,
) -> ChunkPayload:
    """The Qdrant payload of one chunk (DESIGN.md's schema)."""
    document = processed.document
    assert document is not None
    return {
        "text": chunk.text,
        "source": processed.source,
        "title": document.title,
        "doc_id": processed.doc_id,
        "chunk_index": chunk.index,
        "chunk_count": len(processed.chunks),
        "char_start": chunk.char_start,
        "char_end": chunk.char_end,
        "content_hash": processed.content_hash,
        "tenant": tenant,
        "entities": chunk.entities,
        "format": document.meta.get("format", ""),
        "language": document.meta.get("language", ""),
        "source_marker": source_marker,
        **place_fields(chunk.place),  # type: ignore[typeddict-item]
        **_attachment_fields(processed),  # type: ignore[typeddict-item]
        "access": list(access or []),
    }


def _attachment_fields(processed: ProcessedDocument) -> dict[str, str]:
    if not processed.parent_source:
        return {}
    return {"parent_source": processed.parent_source, "attachment": processed.attachment}


def encode_payload(payload: ChunkPayload) -> str:
    """A payload as it travels in a row's ``payload`` column (JSON: Arrow needs no schema for
    the open-ended ``entities``)."""
    return json.dumps(payload, ensure_ascii=False)
