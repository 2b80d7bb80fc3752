"""Retrieved chunks as numbered passages: what a prompt shows and what an answer cites."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ruai.ingest.documents import PLACE_KINDS
from ruai.store.base import Hit

SNIPPET_CHARS = 240


@dataclass(slots=True)
class Passage:
    n: int
    text: str
    source: str
    chunk_id: str
    score: float
    title: str = ""
    # natasha entities of the chunk ({"type", "text", "normal"}), as ingestion stored them
    entities: list[dict[str, str]] = field(default_factory=list)
    # where in the source the chunk lies, as stored: {"page": 12}, {"slide": 3},
    # {"sheet": "Тарифы"}, {"attachment": "акт.pdf"}; {} where the format has no such place
    place: dict[str, int | str] = field(default_factory=dict)
    # an e-mail attachment's: the mail it came with (its ``place`` names the attachment)
    parent_source: str = ""

    def citation(self) -> dict[str, Any]:
        """The structured source an API response lists for marker ``[n]``, with its place (and
        an attachment's mail)."""
        fields = asdict(self)
        del fields["entities"]
        if not fields["parent_source"]:
            del fields["parent_source"]
        fields |= fields.pop("place")
        fields["snippet"] = fields.pop("text")[:SNIPPET_CHARS]
        return fields


def passages_from_hits(hits: list[Hit]) -> list[Passage]:
    return [
        Passage(
            n=i,
            text=str(hit.payload.get("text", "")),
            source=str(hit.payload.get("source", "")),
            chunk_id=hit.id,
            score=hit.score,
            title=str(hit.payload.get("title") or ""),
            entities=list(hit.payload.get("entities") or []),
            place={kind: hit.payload[kind] for kind in PLACE_KINDS if kind in hit.payload},
            parent_source=str(hit.payload.get("parent_source") or ""),
        )
        for i, hit in enumerate(hits, 1)
    ]
