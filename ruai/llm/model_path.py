"""Where the generator's model is: a local directory or a model id already in the Hugging Face
cache (nothing downloads)."""

from __future__ import annotations

from pathlib import Path

from ruai.settings import Settings


class LLMNotConfiguredError(ValueError):
    pass


def llm_model_path(settings: Settings) -> str:
    if not settings.llm_model:
        raise LLMNotConfiguredError("generator=vllm needs RUAI_LLM_MODEL (a model dir or HF id)")
    path = Path(settings.llm_model).expanduser()
    if path.exists():
        return str(path.resolve())
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return snapshot_download(settings.llm_model, local_files_only=True)
    except LocalEntryNotFoundError as exc:
        raise LLMNotConfiguredError(
            f"RUAI_LLM_MODEL={settings.llm_model!r} is neither a directory nor in the local "
            "Hugging Face cache; download it beforehand or point RUAI_LLM_MODEL at a copy"
        ) from exc
