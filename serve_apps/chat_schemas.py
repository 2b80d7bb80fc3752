"""Request bodies of the chat UI's endpoints: conversations, their messages, feedback."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class NewConversation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field("Новый разговор", min_length=1, max_length=200)
    model: str = Field("", max_length=200)


class Rename(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)


class NewMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: str = Field(max_length=200_000)
    # an answer's response_id, sources and partial flag, as the UI shows them again on reload
    meta: dict[str, Any] = Field(default_factory=dict)


class FeedbackBody(BaseModel):
    """``POST /v1/feedback`` (issue 14's definition)."""

    model_config = ConfigDict(extra="forbid")

    response_id: str = Field(min_length=1, max_length=200)
    rating: Literal[-1, 1]
    comment: str | None = Field(None, max_length=4000)
    source: str | None = Field(None, max_length=100)


class ContextBody(BaseModel):
    """A cited chunk to show within its document."""

    model_config = ConfigDict(extra="forbid")

    model: str
    source: str = Field(min_length=1)
    chunk_id: str = Field(min_length=1)
    query: str = Field(min_length=1, max_length=2000)
