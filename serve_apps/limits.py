"""Request size limits (settings RUAI_MAX_*): a request past one is a 413 naming the setting."""

from __future__ import annotations

from ruai.settings import Settings
from serve_apps.errors import too_long


class Limits:
    def __init__(self, settings: Settings) -> None:
        self.chars = settings.max_question_chars
        self.messages = settings.max_request_messages
        self.top_k = settings.max_top_k

    def check_question(self, text: str, what: str = "the question") -> None:
        if len(text) > self.chars:
            raise too_long(what, len(text), self.chars, "RUAI_MAX_QUESTION_CHARS")

    def clamp_top_k(self, top_k: int) -> int:
        return min(top_k, self.top_k)

    def check_messages(self, contents: list[str]) -> None:
        if len(contents) > self.messages:
            raise too_long("the message list", len(contents), self.messages,
                           "RUAI_MAX_REQUEST_MESSAGES")  # fmt: skip

    def check_conversation(self, contents: list[str]) -> None:
        total, limit = sum(map(len, contents)), self.chars * self.messages
        if total > limit:
            raise too_long("the conversation", total, limit, "RUAI_MAX_QUESTION_CHARS")

    def check_embedding_inputs(self, texts: list[str]) -> None:
        for text in texts:
            self.check_question(text, "an input")
        if len(texts) > self.top_k:
            raise too_long("the input list", len(texts), self.top_k, "RUAI_MAX_TOP_K")
