"""The chunk stage of ingestion over some files, as an actor runs it but without Ray: the real
``ChunkStage`` (its killable parsing child included), closed afterwards."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa

from pipelines.ingest_stages import ChunkStage
from ruai.settings import Settings


def chunk_files(
    settings: Settings,
    tenant: str,
    known: dict[str, tuple[str, str, tuple[str, ...] | None]],
    files: list[Path],
    access: list[str] | None = None,
) -> pa.Table:
    """Document rows of ``files``, each readable by ``access`` (None: the whole tenant);
    ``known``: the store's doc states (doc_id → hash, marker, access)."""
    stage = ChunkStage(settings, tenant, known)
    batch = {
        "uri": np.array([str(f) for f in files]),
        "size": np.array([f.stat().st_size for f in files]),
        "marker": np.array([""] * len(files)),
        "access": np.array([json.dumps(access or [])] * len(files)),
    }
    try:
        return stage(batch)
    finally:
        stage.processor.extract.close()
