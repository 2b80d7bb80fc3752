"""A hostile corpus through the real Ray Data pipeline: zip bomb, 100 000 nested divs, symlink
loops and pairs, NUL text, a huge line, wrong extensions, mixed encodings, next to good files.
Every good file is stored exactly once, every bad one is reported with its reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines.cluster import open_searcher
from pipelines.ingest import run_ingest
from raystore import store_for
from tests.support.hostile_corpus import write_bad_files, write_good_files
from tests.support.link_tree import write_link_traps

pytestmark = pytest.mark.integration


def test_hostile_corpus_next_to_good_files(make_settings, few_articles, tmp_path):
    root = few_articles
    shutil.copy(next(root.glob("*.md")), root / "real.txt")
    (root / "sub").mkdir()
    (root / "sub" / "real2.txt").write_text("Второй настоящий файл о музее.", encoding="utf-8")
    phrases = write_good_files(root / "good")
    bad = write_bad_files(root / "bad")
    traps = write_link_traps(root, tmp_path / "outside")
    good = {p for p in root.rglob("*") if p.is_file() and not p.is_symlink()}
    good -= {root / "bad" / name for name in bad} | {root / "zz-hardlink.txt"}

    settings = make_settings()
    report = run_ingest(settings, str(root))

    failed = {Path(f["source"]).name: f["reason"] for f in report.documents_failed}
    assert set(failed) == set(bad)
    for name, phrase in bad.items():
        assert phrase in failed[name], (name, failed[name])
    skipped = {
        Path(s["source"]).relative_to(root).as_posix(): s["reason"] for s in report.files_skipped
    }
    assert set(skipped) == set(traps)
    for name, phrase in traps.items():
        assert phrase in skipped[name], (name, skipped[name])

    assert report.files_seen == len(good) + len(bad)
    assert report.documents_ok == len(good)
    states = store_for(settings).doc_states(settings.collection, settings.tenant)
    stored = sorted(state.source for state in states.values())
    assert stored == sorted(str(p) for p in good)  # each good file once, under its real path
    assert report.points_total == report.chunks == sum(s.points for s in states.values())

    retriever = open_searcher(settings)
    for name, phrase in phrases.items():
        hits = retriever.search(phrase, mode="sparse", top_k=1)
        assert hits[0].payload["source"] == str(root / "good" / name), name
    assert "\x00" not in retriever.search("стрельцы Кремль", mode="sparse")[0].payload["text"]
