"""Fit a RAG prompt into the model's context: render with the tokenizer's own chat template,
count tokens with the tokenizer, drop the weakest passages and cut the last one to fit.

One tokenization pass: the passages are tokenized together once (a batched call), the prompt
without them once, and the kept passages are summed; one exact count of the final prompt
checks the sum (a token may merge across a passage boundary) and trims words in the rare case
it is over."""

from __future__ import annotations

from dataclasses import replace
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

    def render(self, messages: list[Message]) -> str:
        return self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )

    def count_tokens(self, messages: list[Message]) -> int:
        return len(self.tokenizer(self.render(messages), add_special_tokens=False)["input_ids"])

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
) -> tuple[list[Message], list[Passage]]:
    """The messages that fit ``max_prompt_tokens`` and the passages they kept (best first)."""
    used = template.count_tokens(rag_messages(system_prompt, question, []))
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
    return _trimmed_to_fit(system_prompt, question, kept, template, max_prompt_tokens)


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
    system_prompt: str,
    question: str,
    kept: list[Passage],
    template: ChatTemplate,
    max_prompt_tokens: int,
) -> tuple[list[Message], list[Passage]]:
    """The exact count of the final prompt; over the budget (tokens merged across a boundary),
    words come off the last passage until it fits."""
    while True:
        messages = rag_messages(system_prompt, question, kept)
        over = template.count_tokens(messages) - max_prompt_tokens
        if over <= 0 or not kept:
            return messages, kept
        words = kept[-1].text.split()
        words = words[: max(0, len(words) - over)]
        kept = kept[:-1] + ([replace(kept[-1], text=" ".join(words))] if words else [])
