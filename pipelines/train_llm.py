"""LoRA supervised fine-tuning of the chat LLM with Ray Train: conversations are tokenized with
the base model's chat template on the driver (bad rows counted before any worker starts), fed to
TorchTrainer workers through Ray Data; each epoch reports the loss and checkpoints the adapter;
the final adapter is saved in the PEFT format vLLM (and ray.serve.llm's LoRA support) loads."""

from __future__ import annotations

import json
import tempfile
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import ray
import ray.train
import ray.train.torch

from pipelines.train_run import (
    TrainRunResult,
    finish_run,
    fit,
    run_name,
    storage_path,
    torch_trainer,
)
from ruai.lifecycle.lineage import LORA, Lineage
from ruai.lifecycle.registry import model_path, pinned
from ruai.settings import Settings
from ruai.training.chat_data import read_conversations, split_held_out, write_jsonl
from ruai.training.embedder_session import HISTORY_FILENAME, STATE_FILENAME
from ruai.training.lora import load_lora_model, resolve_base_llm, save_adapter
from ruai.training.rows import NoValidPairsError, RowReport
from ruai.training.sft import collate, encode_conversation

ADAPTER_DIRNAME = "adapter"


@dataclass(frozen=True, slots=True)
class LlmInputs:
    base_model: Path
    # {"input_ids": [...], "labels": [...]} per conversation
    examples: list[dict[str, list[int]]]
    conversations: list[list[dict[str, str]]]
    report: RowReport
    pad_id: int
    # what the lineage records: the base as given, the data file, the held-out cut
    base_ref: str = ""
    dataset: Path | None = None
    split: dict | None = None
    held_out: list[list[dict[str, str]]] | None = None


def check_llm_inputs(
    settings: Settings,
    base_model: str | None,
    chat: Path | None,
    squad: Path | None,
    holdout_fraction: float = 0.0,
) -> LlmInputs:
    """Resolve the base model, read the conversations (chat JSONL, or made from a SQuAD file),
    hold out a seeded ``holdout_fraction`` of them (what jobs.promote evaluates adapters on) and
    tokenize the rest: fails here, before Ray, without one trainable example."""
    from transformers import AutoTokenizer

    base_ref = base_model or settings.llm_model
    base = resolve_base_llm(model_path(base_ref, settings) if base_ref else None)
    report = RowReport(str(chat or squad))
    conversations = read_conversations(chat, squad, report)
    split = {
        "by": "conversation",
        "format": "chat" if chat is not None else "squad",
        "holdout_fraction": holdout_fraction,
        "seed": settings.train_seed,
    }
    conversations, held_out = split_held_out(conversations, holdout_fraction, settings.train_seed)
    tokenizer = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    examples = []
    for messages in conversations:
        encoded = encode_conversation(tokenizer, messages, settings.llm_train_max_tokens)
        if encoded is None:
            report.kept -= 1
            report.skip("reply cut off by RUAI_LLM_TRAIN_MAX_TOKENS")
        else:
            examples.append(encoded)
    if not examples:
        raise NoValidPairsError(f"no trainable conversation: {report.summary()}")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    dataset = Path(chat or squad)
    return LlmInputs(
        base,
        examples,
        conversations,
        report,
        pad_id,
        pinned(base_ref, settings),
        dataset,
        split,
        held_out,
    )


def llm_train_loop(config: dict) -> None:
    """Runs in every Ray Train worker."""
    import torch

    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    device = ray.train.torch.get_device()
    checkpoint = ray.train.get_checkpoint()
    # LoRA's initialisation and dropout: the same data and settings train the same adapter
    torch.manual_seed(config["seed"])
    with checkpoint.as_directory() if checkpoint else nullcontext(None) as restore:
        restore = Path(restore) if restore else None
        model = load_lora_model(
            Path(config["base_model"]),
            **config["lora"],
            adapter=restore / ADAPTER_DIRNAME if restore else None,
        )
        state = torch.load(restore / STATE_FILENAME) if restore else None
        history = json.loads((restore / HISTORY_FILENAME).read_text()) if restore else []
    model = ray.train.torch.prepare_model(model) if world > 1 else model.to(device)
    peft_model = model.module if world > 1 else model
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config["learning_rate"])
    start = 0
    if state:
        optimizer.load_state_dict(state["optimizer"])
        start = int(state["epoch"])
    shard = ray.train.get_dataset_shard("train")
    for epoch in range(start, config["epochs"]):
        model.train()
        losses, tokens, started = [], 0, time.perf_counter()
        for batch in shard.iter_batches(
            batch_size=config["batch_size"],
            batch_format="numpy",
            local_shuffle_buffer_size=4 * config["batch_size"],
            local_shuffle_seed=config["seed"] + epoch,
        ):
            inputs = collate(batch["input_ids"], batch["labels"], config["pad_id"])
            inputs = {name: tensor.to(device) for name, tensor in inputs.items()}
            loss = model(**inputs).loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
            tokens += int(inputs["attention_mask"].sum())
        seconds = time.perf_counter() - started
        metrics = {
            "epoch": epoch + 1,
            "loss": sum(losses) / len(losses) if losses else float("nan"),
            "steps": len(losses),
            "tokens_per_s": tokens / seconds if seconds else 0.0,
            "resumed_from_epoch": start,
        }
        if rank != 0:
            ray.train.report(metrics)
            continue
        history.append(metrics)
        with tempfile.TemporaryDirectory(prefix="ruai-lora-") as tmp:
            tmp = Path(tmp)
            save_adapter(peft_model, tmp / ADAPTER_DIRNAME, config["max_tokens"])
            torch.save(
                {"optimizer": optimizer.state_dict(), "epoch": epoch + 1}, tmp / STATE_FILENAME
            )
            (tmp / HISTORY_FILENAME).write_text(json.dumps(history))
            ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(tmp))


def train_llm(
    settings: Settings,
    inputs: LlmInputs,
    output: Path,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    num_workers: int | None = None,
    use_gpu: bool | None = None,
    name: str | None = None,
    register_as: str | None = None,
) -> TrainRunResult:
    """Train a LoRA adapter on Ray Train and save it (PEFT format) at ``output``;
    ``register_as``: register it as that model's new ``challenger``."""
    started = time.perf_counter()
    output = output.expanduser().resolve()
    name = run_name("lora", name)
    workers = num_workers or settings.train_num_workers
    gpu = settings.train_use_gpu if use_gpu is None else use_gpu
    lora = {
        "r": settings.llm_lora_r,
        "alpha": settings.llm_lora_alpha,
        "dropout": settings.llm_lora_dropout,
        "target_modules": list(settings.llm_lora_target_modules),
        "load_in": settings.llm_load_in,
    }
    config = {
        "base_model": str(inputs.base_model),
        "lora": lora,
        "epochs": epochs or settings.llm_train_epochs,
        "batch_size": batch_size or settings.llm_train_batch_size,
        "learning_rate": learning_rate or settings.llm_train_learning_rate,
        "max_tokens": settings.llm_train_max_tokens,
        "seed": settings.train_seed,
        "pad_id": inputs.pad_id,
    }
    trainer = torch_trainer(
        settings, llm_train_loop, config, inputs.examples, output, name, workers, gpu
    )
    result = fit(trainer)
    chat_file = write_jsonl(
        [{"messages": m} for m in inputs.conversations],
        Path(storage_path(settings, output)) / name / "train_chat.jsonl",
    )
    params = {k: v for k, v in config.items() if k not in ("lora", "pad_id")} | lora
    params |= {"num_workers": workers, "use_gpu": gpu}
    data = inputs.report.to_dict() | {
        "examples": len(inputs.examples),
        "held_out": len(inputs.held_out or []),
    }
    lineage = Lineage(LORA, inputs.base_ref, inputs.dataset, inputs.split or {}, params)
    return finish_run(
        settings,
        result.checkpoint,
        ADAPTER_DIRNAME,
        output,
        name,
        params,
        data,
        started,
        extra_artifacts=(chat_file,),
        register=(register_as, lineage) if register_as else None,
    )
