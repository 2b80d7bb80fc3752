"""What a registered model version was made from, as MLflow tags: base model, the dataset file
and its hash, the split, the parameters, the final metrics and the project's git commit."""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

EMBEDDER, LORA = "embedder", "lora"
# tag names on a model version (MLflow tag keys; values are strings)
KIND, BASE_MODEL, DATASET, DATASET_SHA256 = "kind", "base_model", "dataset", "dataset_sha256"
SPLIT, GIT_COMMIT, RUN_ID = "split", "git_commit", "run_id"
PARAM_PREFIX, METRIC_PREFIX = "param.", "metric."
REPO = Path(__file__).resolve().parents[2]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def git_commit(repo: Path = REPO) -> str:
    """HEAD of the project's checkout, with ``-dirty`` for uncommitted changes; ``unknown``
    where there is no git checkout (an installed wheel, a job's working dir without .git)."""
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True
        )
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return head.stdout.strip() + ("-dirty" if dirty else "")


@dataclass(frozen=True, slots=True)
class Lineage:
    """``kind``: "embedder" or "lora"; ``split``: how the held-out part was cut (enough to cut it
    again: the gate evaluates on it)."""

    kind: str
    base_model: str
    dataset: Path
    split: Mapping[str, object]
    params: Mapping[str, object] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    run_id: str = ""

    def tags(self) -> dict[str, str]:
        tags = {
            KIND: self.kind,
            BASE_MODEL: self.base_model,
            DATASET: str(Path(self.dataset).resolve()),
            DATASET_SHA256: file_sha256(self.dataset),
            SPLIT: json.dumps(dict(self.split), ensure_ascii=False, sort_keys=True),
            GIT_COMMIT: git_commit(),
            RUN_ID: self.run_id,
        }
        tags |= {PARAM_PREFIX + k: str(v) for k, v in self.params.items()}
        tags |= {
            METRIC_PREFIX + k: repr(float(v))
            for k, v in self.metrics.items()
            if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        }
        return tags


def split_of(tags: Mapping[str, str]) -> dict:
    return json.loads(tags.get(SPLIT, "{}"))


def check_dataset(tags: Mapping[str, str]) -> Path:
    """The registered dataset file, refused when it is missing or its content changed since."""
    path = Path(tags[DATASET])
    if not path.is_file():
        raise FileNotFoundError(f"the registered dataset {path} is gone; restore it to evaluate")
    if file_sha256(path) != tags[DATASET_SHA256]:
        raise ValueError(
            f"the registered dataset {path} changed since training (sha256 differs): its "
            "held-out split is no longer the one the version was trained against"
        )
    return path
