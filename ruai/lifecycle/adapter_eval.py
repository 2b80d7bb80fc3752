"""A LoRA adapter version on its registered held-out conversations: the loss on the reference
replies (teacher-forced, as in training) and greedy answers scored by token F1 and exact match.
The base model alone (no adapter folder) is measured the same way."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ruai.lifecycle.lineage import BASE_MODEL, check_dataset, split_of
from ruai.lifecycle.registry import model_path
from ruai.settings import Settings

PRIMARY = "loss"


def held_out_conversations(tags: Mapping[str, str]) -> list[list[dict[str, str]]]:
    from ruai.training.chat_data import read_conversations, split_held_out
    from ruai.training.rows import RowReport

    split = split_of(tags)
    dataset = check_dataset(tags)
    chat = dataset if split["format"] == "chat" else None
    squad = dataset if split["format"] == "squad" else None
    conversations = read_conversations(chat, squad, RowReport(str(dataset)))
    _, held_out = split_held_out(conversations, split["holdout_fraction"], split["seed"])
    if not held_out:
        raise ValueError(
            "this version was registered without held-out conversations (--holdout 0): "
            "nothing to evaluate it on"
        )
    return held_out


def held_out_answers(model_dir: Path, tags: Mapping[str, str], settings: Settings) -> dict:
    """``loss``, ``token_f1``, ``exact_match`` of the adapter at ``model_dir`` (or of the base
    model when ``model_dir`` holds no adapter) over the held-out conversations."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ruai.eval.answer_metrics import exact_match, token_f1
    from ruai.training.lora import ADAPTER_CONFIG, resolve_base_llm
    from ruai.training.sft import collate, encode_conversation

    base = resolve_base_llm(model_path(tags[BASE_MODEL], settings))
    tokenizer = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(str(base), local_files_only=True)
    if (Path(model_dir) / ADAPTER_CONFIG).is_file():
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(model_dir))
    model.eval()
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    losses, f1, em = [], [], []
    with torch.no_grad():
        for messages in held_out_conversations(tags):
            encoded = encode_conversation(tokenizer, messages, settings.llm_train_max_tokens)
            if encoded is None:
                continue
            batch = collate([encoded["input_ids"]], [encoded["labels"]], pad_id)
            losses.append(float(model(**batch).loss))
            prompt = tokenizer.apply_chat_template(
                messages[:-1], tokenize=False, add_generation_prompt=True
            )
            ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
            reference = messages[-1]["content"]
            budget = len(tokenizer(reference, add_special_tokens=False)["input_ids"]) + 8
            out = model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=min(budget, settings.llm_max_tokens),
                do_sample=False,
                pad_token_id=pad_id,
            )
            answer = tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)
            f1.append(token_f1(answer, [reference]))
            em.append(exact_match(answer, [reference]))
    if not losses:
        raise ValueError("no held-out conversation fits RUAI_LLM_TRAIN_MAX_TOKENS")
    return {
        PRIMARY: sum(losses) / len(losses),
        "token_f1": sum(f1) / len(f1),
        "exact_match": sum(em) / len(em),
        "conversations": float(len(losses)),
    }
