"""Files → searchable index on ≥ 10,000 chunks, side by side in one run:

  (a) this job: the Ray Data pipeline (pipelines.ingest.run_ingest) into Qdrant Edge;
  (b) a plain single-process loop doing the same steps with the same ruai pieces into Qdrant Edge;
  (c) LangChain's QdrantVectorStore.from_texts (qdrant-client local mode) with the same dense
      encoder and the same chunks: what users of the older stack run today (no BM25, no NER).

(a) and (b) run twice: with natasha NER (the default) and without (RUAI_EXTRACT_ENTITIES=false),
the latter being the same work as (c) plus lemmas and BM25. Reports docs/s, chunks/s, peak RSS
(the process and all its children: Ray's workers included) and the ratios; writes
benchmarks/results/ingest.json and ingest.png.

    python benchmarks/ingest.py [--copies 34] [--skip-langchain]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from pipelines.cluster import use_token_auth
from ruai.encoders.factory import build_dense_encoder
from ruai.encoders.model_info import build_token_counter
from ruai.eval.sample_corpus import replicate_corpus, write_sample_corpus
from ruai.extraction import Extractor
from ruai.inline_index import index_files
from ruai.processing import DocumentProcessor
from ruai.settings import Settings
from ruai.store.edge import EdgeStore

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
DATASET = Path(
    os.environ.get("RUAI_XQUAD_RU", REPO.parent / "shared/data/xquad-ru/xquad.ru.dev.json")
)


class PeakMemory:
    """Samples the RSS of this process and all its descendants every 50 ms."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        me = psutil.Process()
        total = me.memory_info().rss
        for child in me.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(0.05)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def measure(name: str, docs: int, fn: Callable[[], int]) -> dict:
    print(f">> {name} …", flush=True)
    with PeakMemory() as memory:
        started = time.perf_counter()
        chunks = fn()
        seconds = time.perf_counter() - started
    row = {
        "name": name,
        "seconds": round(seconds, 2),
        "documents": docs,
        "chunks": chunks,
        "docs_per_s": round(docs / seconds, 1),
        "chunks_per_s": round(chunks / seconds, 1),
        "peak_rss_mib": round(memory.peak / 2**20),
    }
    print(f"   {row}", flush=True)
    return row


def ray_job(settings: Settings, source: Path) -> int:
    from pipelines.ingest import run_ingest

    report = run_ingest(settings, str(source))
    assert not report.documents_failed, report.documents_failed
    return report.chunks


def plain_loop(settings: Settings, files: list[Path]) -> int:
    processor = DocumentProcessor(settings, Extractor.from_settings(settings))
    dense = build_dense_encoder(settings, lemmatizer=processor.lemmatizer)
    with EdgeStore(settings.qdrant_path) as store:
        return index_files(settings, files, store, dense, processor)


def langchain(settings: Settings, files: list[Path], path: Path) -> int:
    from langchain_core.embeddings import Embeddings
    from langchain_qdrant import QdrantVectorStore

    from ruai.loaders import load_document
    from ruai.text.chunking import chunk_text

    encoder = build_dense_encoder(settings)
    count_tokens, max_tokens = build_token_counter(settings)

    class RuaiEmbeddings(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return encoder.encode_passages(texts).tolist()

        def embed_query(self, text: str) -> list[float]:
            return encoder.encode_queries([text])[0].tolist()

    texts, metadatas = [], []
    for file in files:
        document = load_document(str(file), file.read_bytes())
        limit = min(settings.chunk_max_tokens, max_tokens)
        for span in chunk_text(document.text, limit, count_tokens):
            texts.append(span.text)
            metadatas.append({"source": str(file)})
    QdrantVectorStore.from_texts(
        texts, RuaiEmbeddings(), metadatas=metadatas, path=str(path), collection_name="bench"
    )
    return len(texts)


INGEST_BARS = (
    ("chunks_per_s", "chunks/s (higher is better)", "#4c72b0"),
    ("peak_rss_mib", "peak RSS, MiB (process + children)", "#dd8452"),
)


def plot(
    rows: list[dict],
    out: Path,
    bars: tuple[tuple[str, str, str], ...] = INGEST_BARS,
    title: str = "files → searchable Qdrant index, 2-core CPU, navec encoder",
) -> None:
    """One horizontal bar chart per (key, label, colour), the rows' names down the side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(bars), figsize=(6 * len(bars), 1.5 + 0.5 * len(rows)))
    names = [r["name"] for r in rows]
    for ax, (key, label, colour) in zip(axes, bars, strict=True):
        ax.barh(names, [r[key] for r in rows], color=colour)
        ax.set_xlabel(label)
        ax.invert_yaxis()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--copies", type=int, default=34, help="sample corpus copies (~299 chunks each)"
    )
    parser.add_argument("--skip-langchain", action="store_true")
    args = parser.parse_args()

    import ray

    work = Path(tempfile.mkdtemp(prefix="ruai-bench-"))
    write_sample_corpus(DATASET, work / "sample")
    files = replicate_corpus(work / "sample" / "articles", work / "corpus", args.copies)
    docs = len(files)
    print(f"corpus: {docs} documents in {work / 'corpus'}")

    rows = []
    # the single-process baselines first, so that Ray's processes don't count in their memory
    for entities in (True, False):
        settings = Settings(
            qdrant_path=work / f"loop{int(entities)}", extract_entities=entities, collection="bench"
        )
        name = "(b) plain loop" + ("" if entities else ", no NER")
        rows.append(measure(name, docs, lambda s=settings: plain_loop(s, files)))
    if not args.skip_langchain:
        settings = Settings(extract_entities=False)
        rows.append(
            measure(
                "(c) LangChain from_texts", docs, lambda: langchain(settings, files, work / "lc")
            )
        )

    use_token_auth()  # the project's token, not ~/.ray
    started = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray_init_s = round(time.perf_counter() - started, 2)
    for entities in (True, False):
        settings = Settings(
            qdrant_path=work / f"ray{int(entities)}", extract_entities=entities, collection="bench"
        )
        name = "(a) ray job" + ("" if entities else ", no NER")
        rows.append(measure(name, docs, lambda s=settings: ray_job(s, work / "corpus")))
    ray.shutdown()

    by_name = {r["name"]: r for r in rows}

    def ratio(a: str, b: str) -> float | None:
        if a in by_name and b in by_name:
            return round(by_name[a]["chunks_per_s"] / by_name[b]["chunks_per_s"], 2)
        return None

    ratios = {
        "a_vs_b": ratio("(a) ray job", "(b) plain loop"),
        "a_vs_b_no_ner": ratio("(a) ray job, no NER", "(b) plain loop, no NER"),
        "a_vs_c_no_ner": ratio("(a) ray job, no NER", "(c) LangChain from_texts"),
        "a_vs_c": ratio("(a) ray job", "(c) LangChain from_texts"),
    }
    result = {
        "machine": {"cpus": psutil.cpu_count(), "platform": platform.platform()},
        "ray_init_seconds": ray_init_s,
        "rows": rows,
        "ratios_chunks_per_s": ratios,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ingest.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    plot(rows, RESULTS / "ingest.png")
    print(json.dumps(ratios, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
