"""Where documents come from: a local file or directory (recursive), or an object-store URI
(``s3://…``, ``gs://…``) through pyarrow filesystems. On S3, an object's own tag or user
metadata may say who reads it (``list_source_files(access_key=…)``)."""

from __future__ import annotations

import errno
import os
import posixpath
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.fs as pafs

from ruai.identity.policy import AccessPolicyError, PolicyTree, parse_object_access

# S3 requests in flight while reading the objects' access tags and metadata
_S3_THREADS = 16


class SourceNotFoundError(FileNotFoundError):
    pass


@dataclass(frozen=True, slots=True)
class SourceFile:
    uri: str  # what the document's `source` and doc_id are derived from
    path: str  # what the filesystem opens
    size: int
    # an object store's change marker: "etag:…" on S3, else "size:mtime_ns" of the listing
    # ("" for local files, whose content hash is cheap to check where they are read)
    marker: str = ""
    # who may read it, as the object itself says (its tag or user metadata); None: it says
    # nothing, the policy files and --access decide
    access: tuple[str, ...] | None = None


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


def check_source(source: str) -> tuple[pafs.FileSystem, str, str, pafs.FileInfo]:
    """SOURCE's filesystem, path, URI prefix and file info; SourceNotFoundError when it does not
    exist. One lookup: what a CLI checks before starting Ray, without listing anything."""
    fs, root, prefix = resolve_filesystem(source)
    info = fs.get_file_info(root)
    if info.type == pafs.FileType.NotFound:
        raise SourceNotFoundError(f"SOURCE does not exist: {source}")
    return fs, root, prefix, info


@dataclass(slots=True)
class SourceListing:
    root: str  # the root URI
    files: list[SourceFile]  # sorted by path, each real file once
    skipped: list[dict[str, str]] = field(default_factory=list)  # [{source, reason}]
    # directories whose listing failed (also in ``skipped``): what they hold is unknown, so
    # nothing stored under them counts as gone
    unlisted: list[str] = field(default_factory=list)

    def in_unlisted(self, uri: str) -> bool:
        return any(is_under(uri, directory) for directory in self.unlisted)


def list_source_files(source: str, access_key: str | None = None) -> SourceListing:
    """Every regular, non-hidden file under SOURCE, once. A local tree is walked without following
    symlinks into loops, out of SOURCE or into directories listed anyway; what is left out is in
    ``skipped`` with the reason. Object-store keys are deduplicated. With ``access_key``, each S3
    object's tag or user metadata of that name is read as its ``access``."""
    fs, root, prefix, info = check_source(source)
    if not prefix:
        if info.type == pafs.FileType.File:
            return SourceListing(root, [SourceFile(root, root, info.size or 0)])
        return _walk_local(root)
    infos = [info]
    if info.type != pafs.FileType.File:
        infos = [
            i
            for i in fs.get_file_info(pafs.FileSelector(root, recursive=True))
            if i.type == pafs.FileType.File and not _hidden(i.path[len(root) :])
        ]
    etags = _s3_etags(root) if prefix == "s3://" else {}
    paths = sorted({i.path for i in infos})
    own = _s3_object_access(paths, access_key) if access_key and prefix == "s3://" else {}
    files = {
        i.path: SourceFile(prefix + i.path, i.path, i.size or 0, change_marker(i, etags),
                           own.get(i.path))  # fmt: skip
        for i in infos
    }
    return SourceListing(prefix + root, [files[path] for path in paths])


def change_marker(info: pafs.FileInfo, etags: dict[str, str]) -> str:
    """What an object store says of an object's version: its ETag where the listing has one
    (S3), else size and last-modified time (whole seconds on S3-like stores)."""
    if info.path in etags:
        return f"etag:{etags[info.path]}"
    return f"{info.size or 0}:{info.mtime_ns or 0}"


def _s3_etags(root: str) -> dict[str, str]:
    """ "bucket/key" → ETag under ROOT, from S3's own listing (pyarrow's omits ETags); empty when
    boto3 cannot list what pyarrow could (other credentials): then size:mtime serves."""
    import boto3
    import botocore.exceptions

    bucket, _, prefix = root.partition("/")
    try:
        pages = (
            boto3.client("s3")
            .get_paginator("list_objects_v2")
            .paginate(Bucket=bucket, Prefix=prefix)
        )
        return {
            f"{bucket}/{obj['Key']}": obj["ETag"].strip('"')
            for page in pages
            for obj in page.get("Contents", [])
        }
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
        return {}


def _s3_object_access(paths: list[str], key: str) -> dict[str, tuple[str, ...]]:
    """ "bucket/key" → the access labels of the objects that name theirs: the object tag ``key``
    (it changes without rewriting the object), else the user metadata ``key``
    (``x-amz-meta-<key>``). An object that cannot be asked fails the listing: read as "no
    access of its own" it could be shown to the whole tenant."""
    import boto3
    import botocore.exceptions

    s3 = boto3.client("s3")
    name = key.lower()  # S3 returns metadata names in lower case

    def own(path: str) -> str | None:
        bucket, _, object_key = path.partition("/")
        try:
            tags = s3.get_object_tagging(Bucket=bucket, Key=object_key)["TagSet"]
            for tag in tags:
                if tag["Key"] == key:
                    return tag["Value"]
            return s3.head_object(Bucket=bucket, Key=object_key).get("Metadata", {}).get(name)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise AccessPolicyError(
                f"s3://{path}: cannot read its access tag or metadata {key!r} ({exc}); grant "
                "s3:GetObjectTagging, or unset RUAI_INGEST_OBJECT_ACCESS_KEY"
            ) from exc

    with ThreadPoolExecutor(_S3_THREADS) as pool:
        values = dict(zip(paths, pool.map(own, paths), strict=True))
    return {
        path: tuple(parse_object_access(value, f"s3://{path} ({key})"))
        for path, value in values.items()
        if value is not None
    }


def _walk_local(root: str) -> SourceListing:
    found: list[tuple[str, tuple[int, int], int]] = []  # (path, (device, inode), size)
    links: list[str] = []
    skipped: list[dict[str, str]] = []
    unlisted: list[str] = []
    pending = [root]
    while pending:
        directory = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError as exc:
            skipped.append({"source": directory, "reason": f"cannot list directory: {exc}"})
            unlisted.append(directory)
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_symlink():
                links.append(entry.path)
            elif entry.is_dir(follow_symlinks=False):
                pending.append(entry.path)
            elif entry.is_file(follow_symlinks=False):
                stat = entry.stat(follow_symlinks=False)
                found.append((entry.path, (stat.st_dev, stat.st_ino), stat.st_size))
            else:
                skipped.append({"source": entry.path, "reason": "not a regular file"})
    files: dict[tuple[int, int], SourceFile] = {}
    for path, key, size in sorted(found):
        if key in files:  # a hard link: one file, one document
            skipped.append({"source": path, "reason": f"same file as {files[key].path}"})
        else:
            files[key] = SourceFile(path, path, size)
    for link in sorted(links):
        reason = _follow_link(link, root, files)
        if reason:
            skipped.append({"source": link, "reason": reason})
    listed = sorted(files.values(), key=lambda f: f.path)
    skipped.sort(key=lambda s: s["source"])
    return SourceListing(root, listed, skipped, sorted(unlisted))


def _follow_link(link: str, root: str, files: dict[tuple[int, int], SourceFile]) -> str | None:
    """Add the file a symlink leads to when it is inside SOURCE and not listed yet; else why not.
    A directory link is never followed: inside SOURCE its files are listed under their own path,
    outside it they are not part of SOURCE."""
    shown = f"{link} -> {os.readlink(link)}"
    try:
        target = os.path.realpath(link, strict=True)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return f"symlink loop: {shown} never reaches a file"
        return f"dangling symlink: {shown} does not exist"
    if not is_under(target, root):
        return f"symlink out of SOURCE: {shown} (not followed)"
    if os.path.isdir(target):
        if is_under(os.path.dirname(link), target):
            return f"symlink loop: {shown} leads back to a directory containing it"
        return f"symlink to a directory listed anyway: {shown}"
    if not os.path.isfile(target):
        return f"symlink to something other than a regular file: {shown}"
    stat = os.stat(target)
    key = (stat.st_dev, stat.st_ino)
    if key in files:
        return f"same file as {files[key].path} (through {shown})"
    files[key] = SourceFile(link, link, stat.st_size)
    return None


def read_source_file(uri: str) -> bytes:
    fs, path, _ = resolve_filesystem(uri)
    with fs.open_input_stream(path) as stream:
        return stream.read()


def access_policies(listing: SourceListing, base: list[str] | None = None) -> PolicyTree:
    """The access policy files (``.ruai-access.yaml``) of SOURCE's tree, read as needed from
    its filesystem; ``base`` applies where no policy file does."""
    fs, root, _ = resolve_filesystem(listing.root)
    if fs.get_file_info(root).type == pafs.FileType.File:
        root = posixpath.dirname(root)

    def read(path: str) -> str | None:
        if fs.get_file_info(path).type != pafs.FileType.File:
            return None
        with fs.open_input_stream(path) as stream:
            return stream.read().decode("utf-8")

    return PolicyTree(root, read, base)


def access_of(listing: SourceListing, policies: PolicyTree) -> dict[str, list[str]]:
    """URI → who may read it: the object's own tag or metadata, else the policy files (and
    their base, ``--access``)."""
    return {
        f.uri: list(f.access) if f.access is not None else policies.access_for(f.path)
        for f in listing.files
    }


def is_under(uri: str, root_uri: str) -> bool:
    return uri == root_uri or uri.startswith(root_uri.rstrip("/") + "/")
