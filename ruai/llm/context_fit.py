"""Fit a RAG prompt into the model's context: render with the tokenizer's own chat template,
count tokens with the tokenizer, drop the weakest passages and cut the last one to fit.

One tokenization pass: the passages are tokenized together once (a batched call), the prompt
without them once, and the kept passages are summed; one exact count of the final prompt
checks the sum (a token may merge across a passage boundary) and trims words in the rare case
it is over."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from ruai.llm.passages import Passage
from ruai.llm.prompts import CONTEXT_SEPARATOR, Message, context_block, rag_messages


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

    def render(self, messages: list[Message], tools: list[dict[str, Any]] | None = None) -> str:
        return self.tokenizer.apply_chat_template(
            messages, tools=tools, tokenize=False, add_generation_prompt=True
        )

    def count_tokens(
        self, messages: list[Message], tools: list[dict[str, Any]] | None = None
    ) -> int:
        rendered = self.render(messages, tools)
        return len(self.tokenizer(rendered, add_special_tokens=False)["input_ids"])

    def token_ends(self, texts: list[str]) -> list[list[int]]:
        """For each text, the character offset where each of its tokens ends (one batch)."""
        if not texts:
            return []
        if getattr(self.tokenizer, "is_fast", False):
            encoded = self.tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True)
            return [[end for _, end in offsets] for offsets in encoded["offset_mapping"]]
        # a slow tokenizer has no offsets: spread each text's length over its token count
        ids = self.tokenizer(texts, add_special_tokens=False)["input_ids"]
        return [
            [round(len(text) * (i + 1) / len(row)) for i in range(len(row))]
            for text, row in zip(texts, ids, strict=True)
        ]


def fit_rag_messages(
    system_prompt: str,
    question: str,
    passages: list[Passage],
    template: ChatTemplate,
    max_prompt_tokens: int,
    followup: Sequence[Message] = (),
    tools: list[dict[str, Any]] | None = None,
) -> tuple[list[Message], list[Passage]]:
    """The messages that fit ``max_prompt_tokens`` and the passages they kept (best first).
    ``followup`` (the tool calls made for the question and their results) comes after the
    question; ``tools``, the tools the model is offered, count as the template renders them."""
    prompt = _Prompt(system_prompt, question, list(followup), tools, template)
    used = prompt.tokens([])
    if used > max_prompt_tokens:
        raise PromptTooLongError(
            f"the question alone exceeds the {max_prompt_tokens}-token prompt budget"
        )
    separator = len(template.token_ends([CONTEXT_SEPARATOR])[0])
    blocks = [context_block(p) for p in passages]
    kept: list[Passage] = []
    for passage, block, ends in zip(passages, blocks, template.token_ends(blocks), strict=True):
        cost = len(ends) + (separator if kept else 0)
        if used + cost <= max_prompt_tokens:
            kept.append(passage)
            used += cost
            continue
        room = max_prompt_tokens - used - (separator if kept else 0)
        head = _head(passage, block, ends[room - 1] if room > 0 else 0)
        if head is not None:
            kept.append(head)
        break
    return _trimmed_to_fit(prompt, kept, max_prompt_tokens)


@dataclass(frozen=True, slots=True)
class _Prompt:
    system_prompt: str
    question: str
    followup: list[Message]
    tools: list[dict[str, Any]] | None
    template: ChatTemplate

    def messages(self, passages: list[Passage]) -> list[Message]:
        return rag_messages(self.system_prompt, self.question, passages) + self.followup

    def tokens(self, passages: list[Passage]) -> int:
        return self.template.count_tokens(self.messages(passages), self.tools)


def _head(passage: Passage, block: str, block_chars: int) -> Passage | None:
    """The passage cut at the last word boundary within ``block_chars`` of its context block."""
    whole = passage.text.strip()
    cut = max(0, block_chars - (len(block) - len(whole)))
    text = whole[:cut]
    if cut < len(whole) and not whole[cut].isspace():  # drop the word the cut went through
        text = text.rsplit(None, 1)[0] if text.strip() and " " in text.strip() else ""
    words = text.split()
    return replace(passage, text=" ".join(words)) if words else None


def _trimmed_to_fit(
    prompt: _Prompt, kept: list[Passage], max_prompt_tokens: int
) -> tuple[list[Message], list[Passage]]:
    """The exact count of the final prompt; over the budget (tokens merged across a boundary),
    words come off the last passage until it fits."""
    while True:
        over = prompt.tokens(kept) - max_prompt_tokens
        if over <= 0 or not kept:
            return prompt.messages(kept), kept
        words = kept[-1].text.split()
        words = words[: max(0, len(words) - over)]
        kept = kept[:-1] + ([replace(kept[-1], text=" ".join(words))] if words else [])
