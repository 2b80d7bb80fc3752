"""Where documents come from: a local file or directory (recursive), or an object-store URI
(``s3://…``, ``gs://…``) through pyarrow filesystems."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow.fs as pafs


class SourceNotFoundError(FileNotFoundError):
    pass


@dataclass(frozen=True, slots=True)
class SourceFile:
    uri: str  # what the document's `source` and doc_id are derived from
    path: str  # what the filesystem opens
    size: int


def _is_uri(source: str) -> bool:
    return "://" in source


def resolve_filesystem(source: str) -> tuple[pafs.FileSystem, str, str]:
    """(filesystem, path inside it, URI prefix that turns a path back into a source URI)."""
    if _is_uri(source):
        fs, path = pafs.FileSystem.from_uri(source)
        scheme = source.split("://", 1)[0]
        return fs, path.rstrip("/"), f"{scheme}://"
    return pafs.LocalFileSystem(), str(Path(source).expanduser().resolve()), ""


def _hidden(rel: str) -> bool:
    return any(part.startswith(".") for part in Path(rel).parts)


def list_source_files(source: str) -> tuple[str, list[SourceFile]]:
    """The root URI and every regular, non-hidden file under SOURCE, sorted by path."""
    fs, root, prefix = resolve_filesystem(source)
    info = fs.get_file_info(root)
    if info.type == pafs.FileType.NotFound:
        raise SourceNotFoundError(f"SOURCE does not exist: {source}")
    if info.type == pafs.FileType.File:
        return prefix + root, [SourceFile(prefix + root, root, info.size or 0)]
    infos = fs.get_file_info(pafs.FileSelector(root, recursive=True))
    files = [
        SourceFile(prefix + i.path, i.path, i.size or 0)
        for i in infos
        if i.type == pafs.FileType.File and not _hidden(i.path[len(root) :])
    ]
    return prefix + root, sorted(files, key=lambda f: f.path)


def read_source_file(uri: str) -> bytes:
    fs, path, _ = resolve_filesystem(uri)
    with fs.open_input_stream(path) as stream:
        return stream.read()


def is_under(uri: str, root_uri: str) -> bool:
    return uri == root_uri or uri.startswith(root_uri.rstrip("/") + "/")
