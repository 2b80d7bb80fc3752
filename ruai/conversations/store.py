"""ConversationStore: conversations and messages per tenant and owner (a signed-in subject or an
API key), the answers given to each (response ids) and the feedback on them, in SQLite or
PostgreSQL."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from typing import Any

from ruai.conversations.database import Database
from ruai.conversations.migrations import migrate
from ruai.conversations.records import (
    ANSWER_LABELS,
    AnswerRecord,
    Conversation,
    ConversationNotFoundError,
    Message,
    ResponseNotFoundError,
    Role,
)
from ruai.settings import Settings

_CONVERSATION = "id, title, model, created_at, updated_at"


class ConversationStore:
    """Every read and write names the owner (tenant, key_id): an id owned by someone else is
    indistinguishable from a missing one. ``key_id`` is ``owner_id``: a subject's, or an opaque
    id of the API key (a hash), never the key itself."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.schema_version = migrate(database)

    @classmethod
    def from_settings(cls, settings: Settings) -> ConversationStore:
        if settings.conversations_dsn:
            return cls(Database.postgresql(settings.conversations_dsn))
        return cls(Database.sqlite(settings.conversations_path))

    def close(self) -> None:
        self.database.close()

    # --- conversations ----------------------------------------------------------------------

    def create(self, tenant: str, key_id: str, title: str, model: str) -> Conversation:
        now = time.time()
        conversation = Conversation(uuid.uuid4().hex, title, model, now, now)
        with self.database.transaction() as cursor:
            cursor.execute(
                "INSERT INTO conversations (id, tenant, key_id, title, model, created_at, "
                "updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (conversation.id, tenant, key_id, title, model, now, now),
            )
        return conversation

    def list(self, tenant: str, key_id: str, limit: int = 200) -> list[Conversation]:
        with self.database.transaction() as cursor:
            rows = cursor.execute(
                f"SELECT {_CONVERSATION} FROM conversations WHERE tenant = %s AND key_id = %s "
                "ORDER BY updated_at DESC, id LIMIT %s",
                (tenant, key_id, limit),
            ).fetchall()
        return [Conversation(*row) for row in rows]

    def get(self, tenant: str, key_id: str, conversation_id: str) -> Conversation:
        with self.database.transaction() as cursor:
            return self._owned(cursor, tenant, key_id, conversation_id)

    def rename(self, tenant: str, key_id: str, conversation_id: str, title: str) -> Conversation:
        with self.database.transaction() as cursor:
            self._owned(cursor, tenant, key_id, conversation_id)
            cursor.execute(
                "UPDATE conversations SET title = %s, updated_at = %s WHERE id = %s",
                (title, time.time(), conversation_id),
            )
            return self._owned(cursor, tenant, key_id, conversation_id)

    def delete(self, tenant: str, key_id: str, conversation_id: str) -> None:
        with self.database.transaction() as cursor:
            self._owned(cursor, tenant, key_id, conversation_id)
            cursor.execute("DELETE FROM messages WHERE conversation_id = %s", (conversation_id,))
            cursor.execute("DELETE FROM conversations WHERE id = %s", (conversation_id,))

    # --- messages ---------------------------------------------------------------------------

    def add_message(
        self,
        tenant: str,
        key_id: str,
        conversation_id: str,
        role: Role,
        content: str,
        meta: dict[str, Any] | None = None,
    ) -> Message:
        now = time.time()
        meta = dict(meta or {})
        with self.database.transaction() as cursor:
            self._owned(cursor, tenant, key_id, conversation_id)
            (message_id,) = cursor.execute(
                "INSERT INTO messages (conversation_id, role, content, meta, created_at) "
                "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                (conversation_id, role, content, json.dumps(meta, ensure_ascii=False), now),
            ).fetchone()
            cursor.execute(
                "UPDATE conversations SET updated_at = %s WHERE id = %s", (now, conversation_id)
            )
        return Message(int(message_id), role, content, now, meta)

    def messages(self, tenant: str, key_id: str, conversation_id: str) -> list[Message]:
        with self.database.transaction() as cursor:
            self._owned(cursor, tenant, key_id, conversation_id)
            rows = cursor.execute(
                "SELECT id, role, content, created_at, meta FROM messages "
                "WHERE conversation_id = %s ORDER BY id",
                (conversation_id,),
            ).fetchall()
        return [
            Message(int(i), role, text, at, json.loads(meta)) for i, role, text, at, meta in rows
        ]

    # --- answers and feedback ---------------------------------------------------------------

    def record_response(self, response_id: str, tenant: str, owner: str | None = None) -> None:
        """Remember that ``owner`` of ``tenant`` got the answer ``response_id`` (feedback is
        checked against it)."""
        self.record_answers([AnswerRecord(response_id, tenant, owner=owner)])

    def record_answers(self, answers: Sequence[AnswerRecord]) -> None:
        """Remember a batch of answers, with the owner, arm and model versions of each."""
        columns = ("response_id", "tenant", *ANSWER_LABELS, "owner", "created_at")
        now = time.time()
        with self.database.transaction() as cursor:
            for answer in answers:
                cursor.execute(
                    f"INSERT INTO responses ({', '.join(columns)}) VALUES "
                    f"({', '.join(['%s'] * len(columns))}) ON CONFLICT (response_id) DO NOTHING",
                    (*(getattr(answer, name) for name in columns[:-1]), now),
                )

    def add_feedback(
        self,
        tenant: str,
        response_id: str,
        rating: int,
        comment: str | None = None,
        source: str | None = None,
        owner: str | None = None,
    ) -> AnswerRecord:
        """Store (or replace: the last vote counts) the owner's rating of its own answer;
        return that answer (its arm and model versions)."""
        if rating not in (-1, 1):
            raise ValueError(f"rating must be +1 or -1, got {rating!r}")
        with self.database.transaction() as cursor:
            answer = self._answer(cursor, tenant, owner, response_id)
            cursor.execute(
                "INSERT INTO feedback (response_id, tenant, rating, comment, source, created_at) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (response_id) DO UPDATE SET "
                "rating = excluded.rating, comment = excluded.comment, "
                "source = excluded.source, created_at = excluded.created_at",
                (response_id, tenant, rating, comment, source, time.time()),
            )
        return answer

    def feedback(
        self, tenant: str, response_id: str, owner: str | None = None
    ) -> dict[str, Any] | None:
        """The owner's rating of its answer ``response_id``; None when it has none (or the
        answer is not its own)."""
        with self.database.transaction() as cursor:
            try:
                self._answer(cursor, tenant, owner, response_id)
            except ResponseNotFoundError:
                return None
            row = cursor.execute(
                "SELECT rating, comment, source FROM feedback "
                "WHERE response_id = %s AND tenant = %s",
                (response_id, tenant),
            ).fetchone()
        return None if row is None else {"rating": row[0], "comment": row[1], "source": row[2]}

    def ratings(self, response_ids: list[str], batch: int = 500) -> dict[str, int]:
        """response_id → rating (+1/-1) of those among ``response_ids`` that got feedback, for
        every tenant (the monitoring job's join with the query log, which holds the tenant)."""
        found: dict[str, int] = {}
        with self.database.transaction() as cursor:
            for i in range(0, len(response_ids), batch):
                part = response_ids[i : i + batch]
                marks = ", ".join(["%s"] * len(part))
                rows = cursor.execute(
                    f"SELECT response_id, rating FROM feedback WHERE response_id IN ({marks})",
                    tuple(part),
                ).fetchall()
                found.update((str(rid), int(rating)) for rid, rating in rows)
        return found

    def prune_answers(self, before: float) -> int:
        """Delete the answer records created before ``before`` (Unix time) that got no feedback:
        feedback on them is refused from then on. Return how many were deleted."""
        with self.database.transaction() as cursor:
            return cursor.execute(
                "DELETE FROM responses WHERE created_at < %s AND NOT EXISTS "
                "(SELECT 1 FROM feedback WHERE feedback.response_id = responses.response_id)",
                (before,),
            ).rowcount

    def prune_conversations(self, before: float) -> int:
        """Delete the conversations (with their messages) last written to before ``before``
        (Unix time); return how many. One statement, its messages by the foreign key's cascade:
        a conversation written to meanwhile is neither deleted nor left without its history."""
        with self.database.transaction() as cursor:
            return cursor.execute(
                "DELETE FROM conversations WHERE updated_at < %s", (before,)
            ).rowcount

    # --- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _answer(cursor, tenant: str, owner: str | None, response_id: str) -> AnswerRecord:
        """The answer given to this owner of ``tenant``; one recorded before answers had owners
        (owner NULL) is any of the tenant's callers'."""
        row = cursor.execute(
            f"SELECT response_id, tenant, {', '.join(ANSWER_LABELS)}, owner FROM responses "
            "WHERE response_id = %s",
            (response_id,),
        ).fetchone()
        answer = None if row is None else AnswerRecord(*row)
        if answer is None or answer.tenant != tenant or answer.owner not in (None, owner):
            raise ResponseNotFoundError(f"no answer {response_id!r} was given to you")
        return answer

    @staticmethod
    def _owned(cursor, tenant: str, key_id: str, conversation_id: str) -> Conversation:
        row = cursor.execute(
            f"SELECT {_CONVERSATION} FROM conversations "
            "WHERE id = %s AND tenant = %s AND key_id = %s",
            (conversation_id, tenant, key_id),
        ).fetchone()
        if row is None:
            raise ConversationNotFoundError(f"conversation {conversation_id!r} does not exist")
        return Conversation(*row)
