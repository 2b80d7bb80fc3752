"""`jobs.evaluate --answers` end to end on a tiny SQuAD file: its articles indexed into a real
Qdrant Edge shard (the same ruai steps as ingestion, in this process), then the job as a user
runs it, outside any Ray cluster: retriever + extractive answerer in its own process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ruai.encoders.factory import build_dense_encoder
from ruai.eval.sample_corpus import write_sample_corpus
from ruai.ingest.inline_index import index_files
from ruai.settings import Settings
from ruai.store.edge import EdgeStore
from tests.support.tiny_squad import write_tiny_squad

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def test_evaluate_answers_end_to_end_on_a_tiny_squad_file(xquad_path: Path, tmp_path: Path):
    tiny = write_tiny_squad(xquad_path, tmp_path / "tiny.json", articles=3, questions_per_article=4)
    write_sample_corpus(tiny, tmp_path / "sample", xquad_path.parent / "LICENSE-CC-BY-SA-4.0.txt")
    settings = Settings(qdrant_path=tmp_path / "qdrant", collection="tiny")
    with EdgeStore(settings.qdrant_path) as store:
        chunks = index_files(
            settings,
            sorted((tmp_path / "sample" / "articles").glob("*.md")),
            store,
            build_dense_encoder(settings),
        )
    assert chunks >= 9  # 3 articles of 3 paragraphs, no chunk crosses a paragraph
    out = tmp_path / "answers.json"
    env = os.environ | {
        "RUAI_QDRANT_PATH": str(settings.qdrant_path),
        "RUAI_COLLECTION": "tiny",
        "RAY_TMPDIR": str(tmp_path / "no-ray"),  # no running cluster: open the shard directly
    }
    result = subprocess.run(
        [sys.executable, "-m", "jobs.evaluate", "--answers", "--dataset", str(tiny),
         "--json", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "gold_in_first" in result.stdout and Settings().answer_style in result.stdout
    report = json.loads(out.read_text(encoding="utf-8"))
    summary, rows = report["summary"], report["answers"]
    assert summary["questions"] == len(rows) == 12
    # a real answerer over a real index: most answers hold their gold and cite a passage
    assert summary["gold_anywhere"] >= summary["gold_in_first"] >= 0.5
    assert summary["cited_answers"] >= 10 and summary["citation_precision"] >= 0.5
    assert 0 < summary["mean_chars"] <= Settings().answer_ranked_max_chars
    for row in rows:
        assert row["answer"] and row["gold"] and len(row["answer"].split("[")) <= 3
