"""An embedder version's retrieval quality on its registered held-out split: paragraph
recall@1/k and MRR@k of the held-out articles' questions over every paragraph of the dataset,
cut into chunks as ingestion would cut them (ruai.training.recall over ruai.eval.metrics)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ruai.lifecycle.lineage import check_dataset, split_of
from ruai.settings import Settings


def held_out_recall(model_dir: Path, tags: Mapping[str, str], settings: Settings) -> dict:
    """Metrics of the sentence-transformers model at ``model_dir`` on the split that ``tags``
    (a registered version's lineage) records; the dataset must be unchanged since training."""
    from ruai.encoders.sentence_transformer import SentenceTransformerEncoder
    from ruai.training.pairs import load_pair_split
    from ruai.training.passage_chunks import PassageChunker
    from ruai.training.recall import PassageRecall

    split = split_of(tags)
    dataset = check_dataset(tags)
    chunker = PassageChunker.for_model(settings, model_dir)
    pairs = load_pair_split(dataset, split["validation_fraction"], split["seed"], chunker)
    recall = PassageRecall(pairs.validation, pairs.corpus, int(split["recall_k"]), chunker)
    encoder = SentenceTransformerEncoder(
        str(model_dir), batch_size=settings.dense_batch_size, device=settings.dense_device
    )
    return recall(encoder.encode_queries, encoder.encode_passages)


def primary_metric(tags: Mapping[str, str]) -> str:
    return f"recall_at_{split_of(tags)['recall_k']}"
