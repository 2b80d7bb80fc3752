"""Request bodies of the HTTP API (OpenAI-compatible where OpenAI has the endpoint)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from serve_apps.errors import invalid


class ContentPart(BaseModel):
    """One part of a message's content; only text parts are answered."""

    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[ContentPart]

    def text(self) -> str:
        """The content as text: text parts joined by newlines; any other part is a 400."""
        if isinstance(self.content, str):
            return self.content
        for part in self.content:
            if part.type != "text" or part.text is None:
                raise invalid(
                    f"content parts of type {part.type[:32]!r} are not supported: send text "
                    "parts ({'type': 'text', 'text': ...}) or a string",
                    "messages", "unsupported_content",
                )  # fmt: skip
        return "\n".join(part.text or "" for part in self.content)


class StreamOptions(BaseModel):
    include_usage: bool = False


# OpenAI request fields asking for what no generator here returns: refused when set, so that a
# client is told rather than handed an answer without it
_UNSUPPORTED = {
    "logprobs": "log probabilities are not returned",
    "top_logprobs": "log probabilities are not returned",
    "tools": "tool calls are not supported",
    "functions": "function calls are not supported",
}


class ChatRequest(BaseModel):
    """OpenAI's chat completion request; unknown OpenAI fields are accepted and ignored, except
    those asking for output no generator here gives (``check_supported``)."""

    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    n: int = Field(1, ge=1)
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    # vLLM's sampling extras (ignored by the extractive generator)
    stop: str | list[str] | None = None
    seed: int | None = None
    min_tokens: int | None = Field(None, ge=0)
    ignore_eos: bool | None = None
    user: str | None = Field(None, max_length=256)  # the experiment key when no API key is sent
    # RAG extras
    top_k: int | None = Field(None, ge=1)

    def check_supported(self) -> None:
        """A 400 for what cannot be answered as asked: n > 1, log probabilities, tools, a
        response format other than text (a false, empty or null field is fine)."""
        if self.n > 1:
            raise invalid("n > 1 is not supported: send one request per answer", "n",
                          "unsupported_n")  # fmt: skip
        extra = self.model_extra or {}
        for name, why in _UNSUPPORTED.items():
            if extra.get(name):
                raise invalid(f"{name}: {why} by this server", name, f"unsupported_{name}")
        response_format = extra.get("response_format")
        if isinstance(response_format, dict) and response_format.get("type", "text") != "text":
            raise invalid(
                f"response_format {response_format.get('type')!r} is not supported: answers "
                "are text", "response_format", "unsupported_response_format",
            )  # fmt: skip

    def texts(self) -> list[str]:
        """Every message's content as text (a 400 for a part that is not text)."""
        return [m.text() for m in self.messages]

    def plain_messages(self) -> list[dict[str, str]]:
        return [{"role": m.role, "content": m.text()} for m in self.messages]

    def question(self) -> str:
        users = [m.text() for m in self.messages if m.role == "user"]
        return users[-1] if users else ""

    def sampling(self) -> dict[str, Any]:
        return {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_completion_tokens or self.max_tokens,
            "stop": self.stop,
            "seed": self.seed,
            "min_tokens": self.min_tokens,
            "ignore_eos": self.ignore_eos,
        }


class SearchBody(BaseModel):
    query: str = Field(min_length=1)
    collection: str | None = None
    top_k: int | None = Field(None, ge=1)
    mode: Literal["hybrid", "dense", "sparse"] = "hybrid"


class EmbeddingsBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    input: str | list[str]
    model: str | None = None

    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else list(self.input)
