"""Fit a RAG prompt into the model's context: render with the tokenizer's own chat template,
count tokens with the tokenizer, drop the weakest passages and cut the last one to fit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ruai.llm.passages import Passage
from ruai.llm.prompts import Message, rag_messages


class PromptTooLongError(ValueError):
    """Even without any context the prompt does not fit the model's context window."""


class ChatTemplate:
    """A Hugging Face tokenizer's chat template: render messages, count their tokens."""

    def __init__(self, tokenizer: Any) -> None:
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError(f"tokenizer {tokenizer.name_or_path!r} has no chat template")
        self.tokenizer = tokenizer

    @classmethod
    def from_pretrained(cls, path: str) -> ChatTemplate:
        from transformers import AutoTokenizer

        return cls(AutoTokenizer.from_pretrained(path, local_files_only=True))

    def render(self, messages: list[Message]) -> str:
        return self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )

    def count_tokens(self, messages: list[Message]) -> int:
        return len(self.tokenizer(self.render(messages), add_special_tokens=False)["input_ids"])


def fit_rag_messages(
    system_prompt: str,
    question: str,
    passages: list[Passage],
    count_tokens: Callable[[list[Message]], int],
    max_prompt_tokens: int,
) -> tuple[list[Message], list[Passage]]:
    """The messages that fit ``max_prompt_tokens`` and the passages they kept (best first)."""
    if count_tokens(rag_messages(system_prompt, question, [])) > max_prompt_tokens:
        raise PromptTooLongError(
            f"the question alone exceeds the {max_prompt_tokens}-token prompt budget"
        )
    kept: list[Passage] = []
    for passage in passages:
        candidate = [*kept, passage]
        if count_tokens(rag_messages(system_prompt, question, candidate)) <= max_prompt_tokens:
            kept = candidate
            continue
        cut = _longest_prefix_that_fits(
            system_prompt, question, kept, passage, count_tokens, max_prompt_tokens
        )
        if cut is not None:
            kept.append(cut)
        break
    return rag_messages(system_prompt, question, kept), kept


def _longest_prefix_that_fits(
    system_prompt: str,
    question: str,
    kept: list[Passage],
    passage: Passage,
    count_tokens: Callable[[list[Message]], int],
    max_prompt_tokens: int,
) -> Passage | None:
    """Binary search over word boundaries for the longest head of ``passage`` that fits."""
    words = passage.text.split()
    lo, hi = 0, len(words)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        head = replace(passage, text=" ".join(words[:mid]))
        if count_tokens(rag_messages(system_prompt, question, [*kept, head])) <= max_prompt_tokens:
            lo = mid
        else:
            hi = mid - 1
    return replace(passage, text=" ".join(words[:lo])) if lo else None
