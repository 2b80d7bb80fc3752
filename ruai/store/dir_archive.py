"""Snapshot files: a directory packed as ``<collection>-<UTC time>.tar.gz``, written atomically."""

from __future__ import annotations

import os
import tarfile
from datetime import UTC, datetime
from pathlib import Path


def snapshot_name(collection: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{collection}-{stamp}.tar.gz"


def archive_directory(
    source_dir: Path, target_dir: Path, collection: str, exclude: frozenset[str] = frozenset()
) -> Path:
    """Pack the contents of ``source_dir`` (minus top-level names in ``exclude``) into
    ``target_dir``; the archive unpacks into the directory's contents, no extra top level."""
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / snapshot_name(collection)
    partial = target.with_name(target.name + ".partial")
    # level 1: Edge preallocates its mmap files (mostly holes, which tarfile reads as zeros);
    # higher levels spend seconds on those zeros and gain nothing on float vectors
    with tarfile.open(partial, "w:gz", compresslevel=1) as tar:
        for entry in sorted(source_dir.iterdir()):
            if entry.name not in exclude:
                tar.add(entry, arcname=entry.name)
    os.replace(partial, target)
    return target
