"""LoRA supervised fine-tuning of the chat LLM with Ray Train (peft).

    python -m jobs.finetune_llm --base-model /models/saiga --dataset chat.jsonl --output adapters/qa
    python -m jobs.finetune_llm --base-model /models/saiga --squad xquad.ru.dev.json --output …

--dataset: JSONL of {"messages": [{"role": ..., "content": ...}, ...]}, the last message the
assistant's; --squad: conversations made from SQuAD-format questions (paragraph as context, gold
answer as reply). The adapter (adapter_config.json + adapter_model.safetensors) loads with
peft.PeftModel.from_pretrained and with vLLM's LoRA support (docs/training.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from jobs.cli import fail
from ruai.settings import get_settings

app = typer.Typer(add_completion=False, help=__doc__)
console = Console(stderr=True)


@app.command()
def main(
    output: Path = typer.Option(..., help="Directory for the LoRA adapter"),
    base_model: str = typer.Option(
        None, help="Local Hugging Face model directory (default: RUAI_LLM_MODEL)"
    ),
    dataset: Path = typer.Option(None, help="Chat JSONL ({'messages': [...]} per line)"),
    squad: Path = typer.Option(None, help="Make the conversations from this SQuAD file"),
    epochs: int = typer.Option(None, min=1, help="Epochs (default: RUAI_LLM_TRAIN_EPOCHS)"),
    batch_size: int = typer.Option(None, min=1, help="Conversations per worker batch"),
    learning_rate: float = typer.Option(None, help="AdamW learning rate"),
    num_workers: int = typer.Option(None, min=1, help="Ray Train workers"),
    use_gpu: bool = typer.Option(None, "--use-gpu/--no-gpu", help="One GPU per worker"),
    run_name: str = typer.Option(None, help="Ray Train / MLflow run name"),
    holdout: float = typer.Option(
        0.2, min=0.0, max=0.9, help="Fraction of conversations held out for jobs.promote"
    ),
    register_as: str = typer.Option(
        "ruai-lora",
        help="Registered model the adapter becomes the new 'challenger' version of ('' skips)",
    ),
) -> None:
    from pipelines.train_llm import check_llm_inputs
    from ruai.encoders.base import ModelNotFoundError
    from ruai.eval.squad import SquadFormatError

    settings = get_settings()
    try:
        inputs = check_llm_inputs(settings, base_model, dataset, squad, holdout)
    except (ModelNotFoundError, ValueError, SquadFormatError, FileNotFoundError) as exc:
        fail(str(exc))
    console.print(inputs.report.summary())

    from pipelines.cluster import init_ray
    from pipelines.train_llm import train_llm

    init_ray()
    result = train_llm(
        settings,
        inputs,
        output,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        num_workers=num_workers,
        use_gpu=use_gpu,
        name=run_name,
        register_as=register_as or None,
    )
    for row in result.history:
        console.print(f"epoch {row['epoch']}: loss {row['loss']:.4f} ({row['steps']} steps)")
    console.print(
        f"adapter: {result.output}\ncheckpoint: {result.checkpoint_path}\n"
        f"mlflow run: {result.mlflow_run_id}"
    )
    if result.registered:
        console.print(f"registered: {result.registered} (alias challenger)")


if __name__ == "__main__":
    sys.exit(app())
