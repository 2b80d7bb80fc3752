"""One embedder fine-tuning run, Ray-free: model, optimizer and schedule; epochs; checkpoints.

The Ray Train worker loop and the Ray Tune trainable drive the same session; they differ only
in where batches come from and where results go.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from ruai.encoders.sentence_transformer import model_prefixes
from ruai.training.hparams import EmbedderHParams
from ruai.training.mnrl import mnrl_forward
from ruai.training.recall import PassageRecall

MODEL_DIRNAME = "model"
STATE_FILENAME = "state.pt"
HISTORY_FILENAME = "history.json"

Batch = Mapping[str, Sequence[str]]


class EmbedderSession:
    """A sentence-transformers model under MultipleNegativesRankingLoss with AdamW and a linear
    warm-up/decay schedule. ``wrap`` may wrap the model for data-parallel training (DDP)."""

    def __init__(
        self,
        model_dir: Path,
        hp: EmbedderHParams,
        steps_per_epoch: int,
        device: torch.device | str = "cpu",
        wrap: Callable[[torch.nn.Module], torch.nn.Module] | None = None,
    ) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers import get_linear_schedule_with_warmup

        torch.manual_seed(hp.seed)
        self.hp = hp
        self.device = torch.device(device)
        self.model = SentenceTransformer(str(model_dir), device=str(device), local_files_only=True)
        self.model.max_seq_length = min(hp.max_seq_length, self.model.max_seq_length or 10**6)
        self.model.float()  # float32 master weights, whatever dtype the files hold
        # trained and evaluated with the prefixes it is served with (e5: "query: ", "passage: ")
        self.prompts = model_prefixes(str(model_dir), self.model.prompts)
        self.module = wrap(self.model) if wrap else self.model
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=hp.learning_rate)
        total = hp.epochs * steps_per_epoch
        self.scheduler = get_linear_schedule_with_warmup(
            self.optimizer, round(hp.warmup_ratio * total), total
        )
        self.epoch = 0
        self.history: list[dict] = []

    @classmethod
    def start_or_resume(
        cls,
        base_model: Path,
        checkpoint_dir: Path | None,
        hp: EmbedderHParams,
        steps_per_epoch: int,
        **kwargs,
    ) -> EmbedderSession:
        """A fresh session on ``base_model``, or the one saved in ``checkpoint_dir``."""
        if checkpoint_dir is None:
            return cls(base_model, hp, steps_per_epoch, **kwargs)
        session = cls(checkpoint_dir / MODEL_DIRNAME, hp, steps_per_epoch, **kwargs)
        state = torch.load(checkpoint_dir / STATE_FILENAME, map_location=session.device)
        session.optimizer.load_state_dict(state["optimizer"])
        session.scheduler.load_state_dict(state["scheduler"])
        session.epoch = int(state["epoch"])
        session.history = json.loads((checkpoint_dir / HISTORY_FILENAME).read_text())
        return session

    def train_epoch(self, batches: Iterable[Batch]) -> dict[str, float]:
        """One pass over ``batches``: mean loss, steps, pairs and pairs/s."""
        self.module.train()
        losses, pairs, started = [], 0, time.perf_counter()
        for batch in batches:
            if len(batch["question"]) < 2:
                continue  # a trailing single pair has no in-batch negative
            loss = mnrl_forward(
                self.module, self.model.preprocess, batch, self.hp.scale, self.device, self.prompts
            )
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            self.scheduler.step()
            losses.append(float(loss.detach()))
            pairs += len(batch["question"])
        self.epoch += 1
        seconds = time.perf_counter() - started
        return {
            "loss": float(np.mean(losses)) if losses else float("nan"),
            "steps": len(losses),
            "pairs": pairs,
            "pairs_per_s": pairs / seconds if seconds else 0.0,
        }

    def evaluate(self, recall: PassageRecall) -> dict[str, float]:
        self.model.eval()
        query, passage = self.prompts
        return recall(
            lambda texts: self.encode(texts, query), lambda texts: self.encode(texts, passage)
        )

    def encode(self, texts: list[str], prompt: str = "") -> np.ndarray:
        with torch.no_grad():
            return self.model.encode(
                texts,
                prompt=prompt or None,
                batch_size=64,
                normalize_embeddings=True,
                show_progress_bar=False,
            )

    def save(self, out_dir: Path) -> Path:
        """Model (a sentence-transformers directory), optimizer state and history."""
        out_dir.mkdir(parents=True, exist_ok=True)
        self.model.save(str(out_dir / MODEL_DIRNAME))
        state = {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "epoch": self.epoch,
        }
        torch.save(state, out_dir / STATE_FILENAME)
        (out_dir / HISTORY_FILENAME).write_text(json.dumps(self.history, indent=2))
        return out_dir
