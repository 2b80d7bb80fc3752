"""Chat-formatted instruction data for LoRA SFT: JSONL of ``{"messages": [...]}``, read
tolerantly, and made from SQuAD-format questions (paragraph as context, answer as reply)."""

from __future__ import annotations

import json
from pathlib import Path

from ruai.eval.squad import SquadDataset
from ruai.training.rows import NoValidPairsError, RowReport

ROLES = frozenset({"system", "user", "assistant"})
QA_PROMPT = "Ответь на вопрос по тексту.\n\nТекст: {context}\n\nВопрос: {question}"


def read_chat_jsonl(path: str | Path, report: RowReport) -> list[list[dict[str, str]]]:
    """Conversations whose last message is the assistant's reply; bad lines are counted."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"chat data not found: {path} (JSONL of {{'messages': [...]}})")
    conversations = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        messages = _conversation(line, report)
        if messages is not None:
            report.kept += 1
            conversations.append(messages)
    if not conversations:
        raise NoValidPairsError(
            f"no valid conversation: {report.summary()}; each line must be a JSON object "
            '{"messages": [{"role": "user", "content": ...}, ..., {"role": "assistant", ...}]}'
        )
    return conversations


def _conversation(line: str, report: RowReport) -> list[dict[str, str]] | None:
    row = report.parse_line(line)
    if row is None:
        return None
    messages = row.get("messages") if isinstance(row, dict) else None
    if not isinstance(messages, list) or len(messages) < 2:
        report.skip("no messages list of at least 2")
        return None
    for message in messages:
        if not (
            isinstance(message, dict)
            and message.get("role") in ROLES
            and isinstance(message.get("content"), str)
            and message["content"].strip()
        ):
            report.skip("message without a known role or with empty content")
            return None
    if messages[-1]["role"] != "assistant":
        report.skip("last message is not the assistant's")
        return None
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def squad_conversations(dataset: SquadDataset, system_prompt: str | None = None) -> list[dict]:
    """One ``{"messages": [...]}`` per answered question: the paragraph and the question from
    the user, the first gold answer from the assistant."""
    contexts = {p.paragraph_id: p.context.replace("\ufeff", "").strip() for p in dataset.paragraphs}
    system = [{"role": "system", "content": system_prompt}] if system_prompt else []
    rows = []
    for question in dataset.questions:
        context = contexts.get(question.paragraph_id, "")
        if not (question.answers and question.answers[0].strip() and context):
            continue
        prompt = QA_PROMPT.format(context=context, question=question.question.strip())
        user = {"role": "user", "content": prompt}
        reply = {"role": "assistant", "content": question.answers[0].strip()}
        rows.append({"messages": [*system, user, reply]})
    return rows


def split_held_out(conversations: list, fraction: float, seed: int) -> tuple[list, list]:
    """(train, held out): a seeded random ``fraction`` of the conversations held out, the rest
    in file order; the same file, fraction and seed always cut the same way."""
    import random

    count = round(len(conversations) * fraction)
    held = set(random.Random(seed).sample(range(len(conversations)), count)) if count else set()
    train = [c for i, c in enumerate(conversations) if i not in held]
    return train, [c for i, c in enumerate(conversations) if i in held]


def read_conversations(
    chat: Path | None, squad: Path | None, report: RowReport
) -> list[list[dict[str, str]]]:
    """The conversations of a chat JSONL file, or made from a SQuAD file (exactly one)."""
    if (chat is None) == (squad is None):
        raise ValueError("give exactly one of --dataset (chat JSONL) and --squad (SQuAD file)")
    if chat is not None:
        return read_chat_jsonl(chat, report)
    from ruai.eval.squad import read_squad

    conversations = [row["messages"] for row in squad_conversations(read_squad(squad))]
    report.kept = len(conversations)
    return conversations


def write_jsonl(rows: list[dict], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    path.write_text(text, encoding="utf-8")
    return path
