"""The retrieval query of a conversation's turn: a follow-up such as "а когда он умер?" names
nothing to search for, so the query is the question plus the user's earlier turns, newest first,
within the question length limit. Measured on written follow-ups in docs/chat.md."""

from __future__ import annotations

from collections.abc import Iterable


def retrieval_query(messages: Iterable[tuple[str, str]], turns: int, max_chars: int) -> str:
    """``messages`` as (role, content) pairs, oldest first; the last user message is the
    question. Earlier user turns are appended (newest first) while the query stays within
    ``max_chars``; a question alone longer than that is returned as is (the caller refuses it)."""
    asked = [content.strip() for role, content in messages if role == "user" and content.strip()]
    if not asked:
        return ""
    query = asked[-1]
    for earlier in reversed(asked[-1 - turns : -1] if turns else []):
        if len(query) + 1 + len(earlier) > max_chars:
            break
        query = f"{query}\n{earlier}"
    return query
