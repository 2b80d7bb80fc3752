"""Peak memory and time of the ingestion job with hostile files, side by side in one run:

  (a) the 48 sample articles alone;
  (b) the same articles next to the hostile corpus the tests build (tests/support): a DOCX zip
      bomb, 100 000 nested divs, a deep DOCX, an 8 MB line, a 40 MB file, binary junk, wrong
      extensions, NUL text, mixed encodings, and symlink loops, pairs and links out of SOURCE.

Peak RSS is sampled over the driver and all its descendants (the local Ray cluster this script
starts, its actors and their parsing children). Writes benchmarks/results/hostile_ingest.json and
hostile_ingest.png.

    python benchmarks/hostile_ingest.py
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.ingest import DATASET, RESULTS, PeakMemory, plot  # noqa: E402
from pipelines.cluster_token import ensure_cluster_token  # noqa: E402
from ruai.eval.sample_corpus import write_sample_corpus  # noqa: E402
from ruai.settings import Settings  # noqa: E402
from tests.support.hostile_corpus import write_bad_files, write_good_files  # noqa: E402
from tests.support.link_tree import write_link_traps  # noqa: E402


def run(name: str, source: Path, store: Path) -> dict:
    from pipelines.ingest import run_ingest

    print(f">> {name} …", flush=True)
    with PeakMemory() as memory:
        started = time.perf_counter()
        report = run_ingest(Settings(qdrant_path=store, collection="bench"), str(source))
        seconds = time.perf_counter() - started
    row = {
        "name": name,
        "seconds": round(seconds, 1),
        "files_seen": report.files_seen,
        "documents_ok": report.documents_ok,
        "documents_failed": len(report.documents_failed),
        "files_skipped": len(report.files_skipped),
        "chunks": report.chunks,
        "peak_rss_mib": round(memory.peak / 2**20),
        "reasons": {Path(f["source"]).name: f["reason"] for f in report.documents_failed},
    }
    print(f"   {json.dumps(row, ensure_ascii=False)}", flush=True)
    return row


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="ruai-hostile-"))
    # the project's own token for the cluster this script starts, in its temp dir (never
    # ~/.ray), set before Ray is imported: it reads the mode once
    os.environ.setdefault("RAY_AUTH_TOKEN_PATH", str(work / "ray" / "auth_token"))
    ensure_cluster_token()
    import ray

    write_sample_corpus(DATASET, work / "sample")
    articles = work / "sample" / "articles"
    hostile = work / "hostile"
    shutil.copytree(articles, hostile / "articles")
    (hostile / "sub").mkdir()
    shutil.copy(next(articles.glob("*.md")), hostile / "real.txt")
    (hostile / "sub" / "real2.txt").write_text("Второй настоящий файл.", encoding="utf-8")
    write_good_files(hostile / "good")
    write_bad_files(hostile / "bad")
    write_link_traps(hostile, work / "outside")

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    rows = [
        run("(a) 48 articles", articles, work / "qa"),
        run("(b) articles + hostile corpus", hostile, work / "qb"),
    ]
    ray.shutdown()
    result = {
        "machine": {"cpus": psutil.cpu_count(), "platform": platform.platform()},
        "rows": rows,
        "peak_rss_ratio_b_over_a": round(rows[1]["peak_rss_mib"] / rows[0]["peak_rss_mib"], 2),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "hostile_ingest.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    bars = (
        ("peak_rss_mib", "peak RSS of the job's process tree, MiB", "#dd8452"),
        ("seconds", "seconds", "#4c72b0"),
    )
    title = "ingestion with and without the hostile corpus, 2-core CPU"
    plot(rows, RESULTS / "hostile_ingest.png", bars, title)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
