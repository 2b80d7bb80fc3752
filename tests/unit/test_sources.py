"""Listing SOURCE: every real file once, symlink traps reported, object-store keys deduplicated."""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.sources import list_source_files
from tests.support.link_tree import write_link_traps


def test_symlink_traps_are_reported_and_each_real_file_listed_once(tmp_path: Path):
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    (root / "real.txt").write_text("Первый файл.", encoding="utf-8")
    (root / "sub" / "real2.txt").write_text("Второй файл.", encoding="utf-8")
    (root / ".hidden.txt").write_text("скрытый", encoding="utf-8")
    traps = write_link_traps(root, tmp_path / "outside")

    listing = list_source_files(str(root))

    assert [Path(f.path).relative_to(root).as_posix() for f in listing.files] == [
        "real.txt",
        "sub/real2.txt",
    ]
    skipped = {Path(s["source"]).relative_to(root).as_posix(): s["reason"] for s in listing.skipped}
    assert set(skipped) == set(traps)
    for name, phrase in traps.items():
        assert phrase in skipped[name], (name, skipped[name])


def test_a_link_inside_source_to_an_unlisted_file_is_followed(tmp_path: Path):
    root = tmp_path / "docs"
    (root / ".drafts").mkdir(parents=True)
    (root / ".drafts" / "note.txt").write_text("Черновик.", encoding="utf-8")
    (root / "note.txt").symlink_to(".drafts/note.txt")
    listing = list_source_files(str(root))
    assert [f.path for f in listing.files] == [str(root / "note.txt")]
    assert listing.skipped == []


def test_s3_listing_carries_each_objects_etag_as_its_change_marker(monkeypatch):
    """A real S3 endpoint (moto's server): the marker is the object's ETag, so an overwrite with
    the same size within the same second still reads as a change."""
    from tests.conftest import free_port
    from tests.support.s3 import client, local_s3

    with local_s3(free_port(), "docs") as env:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        s3 = client(env)
        s3.put_object(Bucket="docs", Key="in/a.txt", Body="Первый.".encode())
        s3.put_object(Bucket="docs", Key="in/b.txt", Body="Второй.".encode())
        s3.put_object(Bucket="docs", Key="in/.hidden", Body=b"x")
        first = list_source_files("s3://docs/in")
        s3.put_object(Bucket="docs", Key="in/a.txt", Body="Первое.".encode())  # same size
        second = list_source_files("s3://docs/in")

    assert first.root == "s3://docs/in"
    assert [f.uri for f in first.files] == ["s3://docs/in/a.txt", "s3://docs/in/b.txt"]
    assert all(f.marker.startswith("etag:") for f in first.files)
    assert first.files[0].size == second.files[0].size
    assert first.files[0].marker != second.files[0].marker
    assert first.files[1].marker == second.files[1].marker


def _unlistable(monkeypatch, directory: Path) -> None:
    """os.scandir fails on DIRECTORY only (as root, chmod cannot make a listing fail)."""
    real = os.scandir

    def scandir(path):
        if Path(path) == directory:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_a_directory_that_cannot_be_listed_is_reported_as_unlisted(tmp_path: Path, monkeypatch):
    root = tmp_path / "docs"
    (root / "locked" / "deeper").mkdir(parents=True)
    (root / "locked" / "a.txt").write_text("А.", encoding="utf-8")
    (root / "open.txt").write_text("Б.", encoding="utf-8")
    _unlistable(monkeypatch, root / "locked")

    listing = list_source_files(str(root))

    assert [f.path for f in listing.files] == [str(root / "open.txt")]
    assert listing.unlisted == [str(root / "locked")]
    assert "cannot list directory" in listing.skipped[0]["reason"]
    assert listing.in_unlisted(str(root / "locked" / "a.txt"))
    assert listing.in_unlisted(str(root / "locked" / "deeper" / "b.txt"))
    assert not listing.in_unlisted(str(root / "locked-not" / "c.txt"))
    assert not listing.in_unlisted(str(root / "open.txt"))
