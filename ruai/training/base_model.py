"""Resolve the base embedder to fine-tune: a local sentence-transformers directory, never a
download."""

from __future__ import annotations

from pathlib import Path

from ruai.encoders.base import ModelNotFoundError
from ruai.encoders.sentence_transformer import resolve_local_model


def resolve_base_embedder(model: str) -> Path:
    """The local directory of ``model`` (--base-model, default RUAI_DENSE_MODEL)."""
    if model == "navec":
        raise ModelNotFoundError(
            "the navec encoder has no trainable weights: pass --base-model (or set "
            "RUAI_DENSE_MODEL) to a sentence-transformers model directory, a Hub id in the local "
            "Hugging Face cache, or 'all-MiniLM-L6-v2'"
        )
    try:
        return resolve_local_model(model)
    except ModelNotFoundError as exc:
        raise ModelNotFoundError(f"base model for fine-tuning (--base-model): {exc}") from exc
