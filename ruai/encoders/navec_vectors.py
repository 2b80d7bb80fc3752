"""navec's product-quantised vectors read straight from its tar, shared by every process.

navec's own ``Navec.load`` copies the 25 MB of quantised indexes into each process and builds a
dict of its 250k words (~50 MB of str and int objects): ~76 MiB private to every Ray worker
that embeds (each ingest stage actor, each search replica). Here the indexes are memory-mapped
from the tar (``pq.bin`` is stored uncompressed there), so the processes of a node share one copy
through the page cache, and the vocabulary becomes two small arrays: each word's ``hash()``,
sorted, and the word id beside it (~3 MB). ``hash()`` differs between processes, which is why
each process builds its own table; a false match needs two 64-bit hashes to collide.

The layout is navec's ``as_bytes`` (navec 0.10): ``vocab.bin`` is gzip of (uint32 size,
uint32 counts[size], the words joined by newlines); ``pq.bin`` is (uint32 vectors, dim, subspaces,
centroids), uint8 indexes[vectors, subspaces], float32 codes[subspaces, centroids, dim/subspaces].
"""

from __future__ import annotations

import contextlib
import ctypes
import gzip
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ruai.encoders.base import ModelNotFoundError

_META = np.dtype("<u4")


@dataclass(frozen=True, slots=True)
class NavecVectors:
    indexes: np.ndarray  # (words, subspaces) uint8, memory-mapped from the tar
    codes: np.ndarray  # (subspaces, centroids, dim / subspaces) float32
    counts: np.ndarray  # (words,) corpus counts
    hashes: np.ndarray  # sorted hash() of each word
    ids: np.ndarray  # the word id of each entry of ``hashes``
    path: Path

    def __reduce__(self) -> tuple:
        # hash() differs between processes: another process builds its own table from the file
        return NavecVectors.open, (self.path,)

    @property
    def dim(self) -> int:
        return int(self.codes.shape[0] * self.codes.shape[2])

    @classmethod
    def open(cls, path: str | Path) -> NavecVectors:
        path = Path(path)
        with _members(path) as (tar, vocab, pq):
            counts, hashes, ids = _read_vocab(tar, vocab)
            vectors, dim, subspaces, centroids = _read_meta(tar, pq)
        if vectors != len(counts):
            raise ModelNotFoundError(f"{path}: {vectors} vectors for {len(counts)} words")
        start = pq.offset_data + 4 * _META.itemsize
        indexes = np.memmap(path, np.uint8, "r", offset=start, shape=(vectors, subspaces))
        codes = np.fromfile(
            path, np.float32, count=subspaces * centroids * (dim // subspaces),
            offset=start + vectors * subspaces,
        ).reshape(subspaces, centroids, dim // subspaces)  # fmt: skip
        return cls(indexes, codes, counts, hashes, ids, path)

    @staticmethod
    def dim_of(path: str | Path) -> int:
        """The vector size, from the header alone."""
        with _members(Path(path)) as (tar, _, pq):
            return _read_meta(tar, pq)[1]

    def lookup(self, tokens: Sequence[str]) -> np.ndarray:
        """The word id of each token, -1 where navec does not know it."""
        if not tokens:
            return np.zeros(0, dtype=np.int32)
        wanted = np.fromiter(map(hash, tokens), dtype=np.int64, count=len(tokens))
        at = np.minimum(np.searchsorted(self.hashes, wanted), len(self.hashes) - 1)
        return np.where(self.hashes[at] == wanted, self.ids[at], -1)


class _members:
    """The open tar and its vocab.bin and pq.bin members; a clear error for anything else."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> tuple[tarfile.TarFile, tarfile.TarInfo, tarfile.TarInfo]:
        try:
            self.tar = tarfile.open(self.path)
            return self.tar, self.tar.getmember("vocab.bin"), self.tar.getmember("pq.bin")
        except (OSError, tarfile.TarError, KeyError) as exc:
            raise ModelNotFoundError(f"{self.path} is not a navec tar: {exc}") from exc

    def __exit__(self, *_: object) -> None:
        self.tar.close()


def _read_vocab(
    tar: tarfile.TarFile, member: tarfile.TarInfo
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The counts, the sorted word hashes and the word id of each hash; the words themselves
    (250k str objects) are dropped on return."""
    raw = tar.extractfile(member)
    assert raw is not None  # a regular member
    with gzip.GzipFile(fileobj=raw) as data:
        size = int(np.frombuffer(data.read(_META.itemsize), _META)[0])
        counts = np.frombuffer(data.read(size * _META.itemsize), _META).copy()
        words = data.read().decode("utf-8").splitlines()
    hashes = np.fromiter(map(hash, words), dtype=np.int64, count=len(words))
    order = np.argsort(hashes, kind="stable")
    return counts, hashes[order], order.astype(np.int32)


def release_freed_heap() -> None:
    """Give the C heap's free pages back to the system (glibc ``malloc_trim``): loading frees
    ~20 MB of words and temporaries that would otherwise stay in the process's RSS."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc
        ctypes.CDLL(None).malloc_trim(0)


def _read_meta(tar: tarfile.TarFile, member: tarfile.TarInfo) -> tuple[int, int, int, int]:
    raw = tar.extractfile(member)
    assert raw is not None
    vectors, dim, subspaces, centroids = (int(v) for v in np.frombuffer(raw.read(16), _META))
    return vectors, dim, subspaces, centroids
