"""What the conversation store holds: conversations, their messages, feedback on answers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Role = Literal["user", "assistant"]


class ConversationNotFoundError(LookupError):
    """No such conversation for this tenant and key (another tenant's id looks the same)."""


class ResponseNotFoundError(LookupError):
    """No answer with this response id was given to this caller (tenant and owner)."""


@dataclass(slots=True)
class Conversation:
    id: str
    title: str
    model: str
    created_at: float
    updated_at: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Message:
    id: int
    role: Role
    content: str
    created_at: float
    # for an answer: its response_id, the sources it cites, partial=True when the stream broke
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class AnswerRecord:
    """An answer given to a tenant: what /v1/feedback checks the caller against (the tenant and
    the owner, ``owner_id``), and what the feedback is counted by (the A/B arm and the model
    versions that answered). ``owner`` None: recorded before answers had owners (any caller of
    the tenant may rate it)."""

    response_id: str
    tenant: str
    experiment: str | None = None
    arm: str | None = None
    llm_model: str | None = None
    adapter: str | None = None
    dense_model: str | None = None
    collection: str | None = None
    owner: str | None = None


# the columns of `responses` that describe what answered (migration 2)
ANSWER_LABELS = ("experiment", "arm", "llm_model", "adapter", "dense_model", "collection")
