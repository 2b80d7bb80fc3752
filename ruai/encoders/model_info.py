"""What the ingest driver and the chunking actors need to know of the dense model without loading
its weights: the embedding size, and a token counter bounded by the model's context. As the
encoders, they read local files only: a ``models:/`` URI is resolved by the caller
(``ruai.lifecycle.registry.resolve_dense_model``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from ruai.encoders.e5_small import E5SmallEncoder, is_e5_small
from ruai.encoders.projected import is_navec
from ruai.settings import Settings

TokenCounter = Callable[[str], int]


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _st_dim(path: Path) -> int:
    """The output size: the last Dense module's out_features, else the pooling dimension."""
    dim = None
    for module in _read_json(path / "modules.json") or []:
        config = _read_json(path / module.get("path", "") / "config.json")
        if module.get("type", "").endswith("Dense"):
            dim = config.get("out_features", dim)
        elif module.get("type", "").endswith("Pooling"):
            dim = config.get("word_embedding_dimension", dim)
    if dim is None:
        dim = _read_json(path / "config.json").get("hidden_size")
    if dim is None:
        raise ValueError(f"cannot tell the embedding size of the model at {path}")
    return int(dim)


def dense_dim(settings: Settings) -> int:
    if is_navec(settings.dense_model):
        from ruai.encoders.navec import natasha_navec_path
        from ruai.encoders.navec_vectors import NavecVectors

        return NavecVectors.dim_of(natasha_navec_path())
    if is_e5_small(settings.dense_model):
        return E5SmallEncoder.dim
    from ruai.encoders.sentence_transformer import resolve_local_model

    return _st_dim(resolve_local_model(settings.dense_model))


def build_token_counter(settings: Settings) -> tuple[TokenCounter, int]:
    """(count_tokens, max_tokens) as the dense model counts passages, prefix and specials in."""
    if is_navec(settings.dense_model):
        from ruai.encoders.navec import NavecEncoder
        from ruai.text.chunking import count_words

        return count_words, NavecEncoder.max_tokens
    if is_e5_small(settings.dense_model):
        encoder = E5SmallEncoder()
        return encoder.count_tokens, encoder.max_tokens
    from ruai.encoders.sentence_transformer import (
        _pick_prefix,
        family_prefixes,
        resolve_local_model,
    )

    path = resolve_local_model(settings.dense_model)
    prompts = _read_json(path / "config_sentence_transformers.json").get("prompts", {})
    prefix = _pick_prefix(
        settings.dense_passage_prefix,
        prompts.get("document"),
        prompts.get("passage"),
        family_prefixes(settings.dense_model)[1],
    )
    count_ids, model_max_length = _id_counter(path)
    max_tokens = _read_json(path / "sentence_bert_config.json").get("max_seq_length")
    max_tokens = int(max_tokens or model_max_length)

    def count_tokens(text: str) -> int:
        return count_ids(prefix + text)

    return count_tokens, max_tokens


def _id_counter(path: Path) -> tuple[TokenCounter, int]:
    """(token ids of a text, special tokens included; the tokenizer's length limit). A model
    saved with a fast tokenizer's ``tokenizer.json`` is read by the ``tokenizers`` library
    alone (~0.1 CPU-s, where loading it through ``transformers`` takes ~8 with its imports); its
    limit is tokenizer_config.json's ``model_max_length``, else the model's position count,
    else 512."""
    if (path / "tokenizer.json").is_file():
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.no_truncation()
        limit = int(
            _read_json(path / "tokenizer_config.json").get("model_max_length")
            or _read_json(path / "config.json").get("max_position_embeddings")
            or 512
        )
        return lambda text: len(tokenizer.encode(text, add_special_tokens=True).ids), limit
    from transformers import AutoTokenizer

    slow = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    return (
        lambda text: len(slow(text, add_special_tokens=True, verbose=False)["input_ids"]),
        int(slow.model_max_length),
    )
