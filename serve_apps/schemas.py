"""Request bodies of the HTTP API (OpenAI-compatible where OpenAI has the endpoint)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from serve_apps.errors import invalid


class ContentPart(BaseModel):
    """One part of a message's content; only text parts are answered."""

    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class FunctionCall(BaseModel):
    name: str
    arguments: str  # JSON, as the model wrote it


class ToolCall(BaseModel):
    """A call an assistant message made, as the client sends the conversation back."""

    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    # null only for an assistant message (one that called tools)
    content: str | list[ContentPart] | None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None  # a tool message: the call it answers

    @model_validator(mode="after")
    def _content_or_calls(self) -> ChatMessage:
        if self.content is None and self.role != "assistant":
            raise ValueError(f"a {self.role} message needs content")
        if self.role == "tool" and not self.tool_call_id:
            raise ValueError("a tool message needs the tool_call_id it answers")
        return self

    def text(self) -> str:
        """The content as text: text parts joined by newlines; any other part is a 400."""
        if self.content is None:
            return ""
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

    def for_llm(self) -> dict[str, Any]:
        """The message as an LLM's chat template reads it: text content, and the tool calls,
        tool call id and name where the message has them."""
        message: dict[str, Any] = {"role": self.role, "content": self.text()}
        if self.tool_calls:
            message["tool_calls"] = [call.model_dump() for call in self.tool_calls]
            message["content"] = self.text() or None
        for name in ("tool_call_id", "name"):
            if getattr(self, name) is not None:
                message[name] = getattr(self, name)
        return message


class FunctionSpec(BaseModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] | None = None  # a JSON schema
    strict: bool | None = None


class ToolSpec(BaseModel):
    """A tool the client offers the model (OpenAI's ``tools`` entry)."""

    type: Literal["function"] = "function"
    function: FunctionSpec


class NamedFunction(BaseModel):
    name: str


class NamedToolChoice(BaseModel):
    type: Literal["function"] = "function"
    function: NamedFunction


class StreamOptions(BaseModel):
    include_usage: bool = False


# OpenAI request fields asking for what no generator here returns: refused when set, so that a
# client is told rather than handed an answer without it
_UNSUPPORTED = {
    "logprobs": "log probabilities are not returned",
    "top_logprobs": "log probabilities are not returned",
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
    # tool calling (OpenAI's semantics): a model may always answer without calling a tool,
    # unless tool_choice is "required" or names a function
    tools: list[ToolSpec] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    # RAG extras
    top_k: int | None = Field(None, ge=1)

    def check_supported(self, calls_tools: bool = True) -> None:
        """A 400 for what cannot be answered as asked: n > 1, log probabilities, a tool call
        demanded of a model that cannot call tools (``calls_tools`` False) or of no tool, a
        response format other than text (a false, empty or null field is fine)."""
        if self.n > 1:
            raise invalid("n > 1 is not supported: send one request per answer", "n",
                          "unsupported_n")  # fmt: skip
        self._check_tool_choice(calls_tools)
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

    def _check_tool_choice(self, calls_tools: bool) -> None:
        choice = self.tool_choice
        if choice is None or choice in ("none", "auto"):
            return  # answered as text when the model cannot (or chooses not to) call a tool
        named = choice.function.name if isinstance(choice, NamedToolChoice) else None
        if not calls_tools:
            raise invalid(
                f"model {self.model[:64]!r} cannot call tools (its generator answers with text "
                f"only), so tool_choice {named or choice!r} cannot be met: send tool_choice "
                "'auto' or 'none' (an ordinary answer), or use a model served with "
                "generator=vllm", "tool_choice", "tool_calls_unsupported",
            )  # fmt: skip
        offered = [tool.function.name for tool in self.tools or []]
        if not offered:
            raise invalid("tool_choice demands a tool call but no tools are given",
                          "tool_choice", "invalid_tool_choice")  # fmt: skip
        if named is not None and named not in offered:
            raise invalid(f"tool_choice names {named[:64]!r}, which is not among the tools "
                          f"{offered}", "tool_choice", "invalid_tool_choice")  # fmt: skip

    def tool_options(self) -> dict[str, Any]:
        """The tools the client offers and its choice, as the LLM server takes them (nothing
        when no tools are offered)."""
        if not self.tools:
            return {}
        return self.model_dump(include={"tools", "tool_choice", "parallel_tool_calls"},
                               exclude_none=True)  # fmt: skip

    def texts(self) -> list[str]:
        """Every message's content as text (a 400 for a part that is not text)."""
        return [m.text() for m in self.messages]

    def plain_messages(self) -> list[dict[str, str]]:
        return [{"role": m.role, "content": m.text()} for m in self.messages]

    def llm_messages(self) -> list[dict[str, Any]]:
        """The conversation for an LLM: tool calls and tool results included."""
        return [m.for_llm() for m in self.messages]

    def after_question(self) -> list[dict[str, Any]]:
        """The messages after the last user message (the tool calls the model made for it and
        their results), for an LLM."""
        users = [i for i, m in enumerate(self.messages) if m.role == "user"]
        start = users[-1] + 1 if users else len(self.messages)
        return [m.for_llm() for m in self.messages[start:]]

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
