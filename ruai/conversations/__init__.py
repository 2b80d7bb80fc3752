"""The chat UI's conversation and feedback store: SQLite by default, PostgreSQL when
RUAI_CONVERSATIONS_DSN is set (no Ray here)."""

from ruai.conversations.owners import owner_id
from ruai.conversations.records import (
    AnswerRecord,
    Conversation,
    ConversationNotFoundError,
    Message,
    ResponseNotFoundError,
)
from ruai.conversations.store import ConversationStore

__all__ = [
    "AnswerRecord",
    "Conversation",
    "ConversationNotFoundError",
    "ConversationStore",
    "Message",
    "ResponseNotFoundError",
    "owner_id",
]
