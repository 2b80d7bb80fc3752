"""The retraining chain's training pairs (pipelines/retrain.py, its ``pairs`` step): the window's
positively rated answers with the text of the chunk each was answered from, read from the index
by id; the champion's registered dataset; the pairs file named by its content's hash."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from ruai.store.base import CollectionNotFoundError, VectorStore

# an unregistered pairs file younger than this may be a running fine-tune's: it stays
UNREGISTERED_PAIRS_KEPT_S = 86_400


def positives(rows: list[dict], ratings: Mapping[str, int]) -> list[dict]:
    """The window's answers rated +1 that kept their question text and retrieved a chunk."""
    return [
        r
        for r in rows
        if ratings.get(r.get("response_id") or "") == 1 and r.get("question") and r.get("chunk_ids")
    ]


def window_pairs(
    rows: list[dict], store: VectorStore, default_collection: str
) -> tuple[list[dict], int]:
    """(question/context/title rows of positively rated answers, their top-1 chunk's text read
    from the index by id; the number of those whose chunk is no longer in the index)."""
    firsts = [
        (row, row.get("collection") or default_collection, row["chunk_ids"][0]) for row in rows
    ]
    payloads: dict[tuple[str, str], dict] = {}
    for collection in {collection for _, collection, _ in firsts}:
        ids = [str(chunk) for _, named, chunk in firsts if named == collection]
        try:
            points = store.retrieve(collection, ids)
        except CollectionNotFoundError:  # dropped since: each of its chunks is missing
            continue
        payloads.update({(collection, p.id): p.payload for p in points})
    pairs, missing, seen = [], 0, set()
    for row, collection, chunk in firsts:
        if row["question"] in seen:
            continue
        payload = payloads.get((collection, str(chunk)))
        if payload is None:
            missing += 1
            continue
        seen.add(row["question"])
        title = str(payload.get("title") or payload.get("source"))
        pairs.append(
            {"question": row["question"], "context": payload.get("text", ""), "title": title}
        )
    return pairs, missing


def registered_rows(dataset: Path) -> list[dict]:
    """The registered dataset's questions as question/context JSONL rows (answers kept)."""
    from ruai.eval.squad import read_squad

    data = read_squad(dataset)
    contexts = {p.paragraph_id: (p.context, p.article_title) for p in data.paragraphs}
    rows = []
    for q in data.questions:
        context, title = contexts[q.paragraph_id]
        answers = [
            {"text": t, "answer_start": s} for t, s in zip(q.answers, q.answer_starts, strict=False)
        ]
        rows.append(
            {"question": q.question, "context": context, "title": title, "answers": answers}
        )
    return rows


def new_pairs(base_rows: list[dict], pairs: list[dict]) -> list[dict]:
    """The window's pairs that the registered dataset does not hold yet (same question and
    context): a window overlapping an earlier run's adds nothing twice."""
    known = {(r["question"], r["context"]) for r in base_rows}
    return [p for p in pairs if (p["question"], p["context"]) not in known]


def write_pairs(work_dir: Path, rows: list[dict]) -> Path:
    """``rows`` as JSONL in ``work_dir``, in a file named by the hash of its content: another
    run's rows never overwrite it (a registered version's dataset keeps its sha256), and the
    same rows find it already written."""
    body = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()
    path = work_dir / f"pairs-{hashlib.sha256(body).hexdigest()[:16]}.jsonl"
    if path.is_file():
        return path
    work_dir.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=f"{path.name}.", suffix=".partial", dir=work_dir)
    with os.fdopen(fd, "wb") as out:
        out.write(body)
    Path(partial).replace(path)
    return path


def prune_pairs(work_dir: Path, keep: set[Path], now: float | None = None) -> list[Path]:
    """Remove the pairs files in ``work_dir`` not in ``keep`` (the registered versions' datasets,
    this run's) and older than UNREGISTERED_PAIRS_KEPT_S; return them."""
    now = time.time() if now is None else now
    removed = []
    for path in work_dir.glob("pairs-*.jsonl"):
        if path.resolve() in keep:
            continue
        if now - path.stat().st_mtime > UNREGISTERED_PAIRS_KEPT_S:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
