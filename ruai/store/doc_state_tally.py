"""Fold scrolled point payloads into one DocState per document."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ruai.store.base import ACCESS, ACCESS_IDS, DocState, payload_access_ids

# the only payload fields doc_states reads: scroll with a selector limited to these
DOC_STATE_FIELDS = (
    "doc_id",
    "tenant",
    "source",
    "content_hash",
    "source_marker",
    "chunk_count",
    ACCESS,
    ACCESS_IDS,
    "parent_source",
)
# content_hash of a doc whose points carry more than one version (a replace that was cut off
# between the upsert of the new chunks and the delete of the old ones), or fewer points than its
# chunk_count (a new doc whose write was cut off): it matches no real hash, so the ingest
# pipeline re-ingests the doc and its delete_doc(keep_content_hash=...) removes the stale chunks
MIXED_VERSIONS = ""


class DocStateTally:
    def __init__(self) -> None:
        self._states: dict[str, DocState] = {}
        self._chunk_counts: dict[str, int] = {}

    def add(self, payload: Mapping[str, Any] | None) -> None:
        if not payload or "doc_id" not in payload:
            return
        doc_id = str(payload["doc_id"])
        content_hash = str(payload.get("content_hash", ""))
        marker = str(payload.get("source_marker", ""))
        access: tuple[str, ...] | None = tuple(sorted(payload.get(ACCESS) or ()))
        if payload.get(ACCESS_IDS) != payload_access_ids(payload):
            access = None  # written before access_ids: relabelled (a payload-only update)
        state = self._states.get(doc_id)
        if state is None:
            state = DocState(
                doc_id,
                str(payload.get("source", "")),
                content_hash,
                marker=marker,
                access=access,
                parent=str(payload.get("parent_source", "")),
            )
            self._states[doc_id] = state
        else:
            if state.content_hash != content_hash:
                state.content_hash = MIXED_VERSIONS
            if state.marker != marker:
                state.marker = MIXED_VERSIONS
            if state.access != access:
                state.access = None
        state.points += 1
        count = payload.get("chunk_count")
        if count is not None and self._chunk_counts.setdefault(doc_id, count) != count:
            state.content_hash = MIXED_VERSIONS

    @property
    def states(self) -> dict[str, DocState]:
        """The documents tallied so far, by doc_id."""
        for doc_id, chunk_count in self._chunk_counts.items():
            state = self._states[doc_id]
            if state.points != chunk_count:
                state.content_hash = MIXED_VERSIONS
        return self._states
