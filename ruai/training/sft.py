"""Supervised fine-tuning examples: a conversation tokenized with the model's own chat template,
loss only on the final assistant reply; right-padded batches."""

from __future__ import annotations

from collections.abc import Sequence

import torch

IGNORE = -100


def encode_conversation(
    tokenizer, messages: list[dict[str, str]], max_tokens: int
) -> dict[str, list[int]] | None:
    """``input_ids`` and ``labels`` (prompt tokens masked with -100), cut at ``max_tokens``;
    None when nothing of the reply survives the cut."""
    prompt_text = tokenizer.apply_chat_template(
        messages[:-1], tokenize=False, add_generation_prompt=True
    )
    full_text = tokenizer.apply_chat_template(messages, tokenize=False)
    if not full_text.startswith(prompt_text):
        raise ValueError(
            "the chat template does not render the conversation as prompt + reply; "
            "SFT masking needs a template where it does"
        )
    prompt = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    reply = tokenizer(full_text[len(prompt_text) :], add_special_tokens=False)["input_ids"]
    input_ids = (prompt + reply)[:max_tokens]
    labels = ([IGNORE] * len(prompt) + reply)[:max_tokens]
    if all(label == IGNORE for label in labels):
        return None
    return {"input_ids": input_ids, "labels": labels}


def collate(
    input_ids: Sequence[Sequence[int]], labels: Sequence[Sequence[int]], pad_id: int
) -> dict[str, torch.Tensor]:
    """Right-pad to the longest example; padding is masked out of attention and loss."""
    width = max(len(ids) for ids in input_ids)
    batch = {"input_ids": [], "attention_mask": [], "labels": []}
    for ids, labs in zip(input_ids, labels, strict=True):
        pad = width - len(ids)
        batch["input_ids"].append([*ids, *([pad_id] * pad)])
        batch["attention_mask"].append([1] * len(ids) + [0] * pad)
        batch["labels"].append([*labs, *([IGNORE] * pad)])
    return {name: torch.tensor(rows, dtype=torch.long) for name, rows in batch.items()}
