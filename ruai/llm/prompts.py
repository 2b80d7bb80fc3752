"""The RAG prompt: Saiga's system prompt, numbered context passages, a Russian instruction to
answer from the context only and cite passages as [n]."""

from __future__ import annotations

from typing import Any

from ruai.llm.passages import Passage

# a chat message: role and content, and an assistant's tool_calls or a tool's tool_call_id
Message = dict[str, Any]

INSTRUCTION = (
    "Ответь на вопрос по-русски, опираясь только на контекст ниже. После каждого утверждения "
    "укажи номер фрагмента, из которого оно взято, в квадратных скобках, например [1]. "
    "Если в контексте нет ответа, так и скажи."
)


CONTEXT_SEPARATOR = "\n\n"


def context_block(passage: Passage) -> str:
    return f"[{passage.n}] {passage.text.strip()}"


def format_context(passages: list[Passage]) -> str:
    return CONTEXT_SEPARATOR.join(context_block(p) for p in passages)


def rag_messages(system_prompt: str, question: str, passages: list[Passage]) -> list[Message]:
    user = f"{INSTRUCTION}\n\nКонтекст:\n{format_context(passages)}\n\nВопрос: {question.strip()}"
    return [{"role": "system", "content": system_prompt}, {"role": "user", "content": user}]
