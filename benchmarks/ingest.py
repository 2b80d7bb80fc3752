"""Files → searchable index on 10,000 to 100,000+ chunks, side by side in one run:

  (a) this job: the Ray Data pipeline (pipelines.ingest.run_ingest) into Qdrant Edge;
  (b) a plain single-process loop doing the same steps with the same ruai pieces into Qdrant Edge;
  (c) LangChain's QdrantVectorStore.from_texts (qdrant-client local mode) with the same dense
      encoder and the same chunks: what users of the older stack run today (no BM25, no NER).

(a) and (b) run without NER (RUAI_EXTRACT_ENTITIES=false: the same work as (c) plus lemmas and
BM25), and with natasha NER too given --with-ner; (a) runs on two Ray starts (ray.init's
defaults, and a lean one: no prestarted workers, a small object store), in a child process of
its own: its driver holds only what a `jobs.ingest` driver holds, not what (b) and (c) loaded.
Reports docs/s, chunks/s, CPU-seconds per 1,000 chunks split by kind of process (stage actors,
parse children, store owner, driver, Ray's own), peak memory of the process tree (Ray's workers
included) as summed RSS and as summed PSS, split by kind of process at the peak, how loaded the
machine was (the load average, and the CPU-seconds other processes used meanwhile), and the
ratios; writes benchmarks/results/<out>.json and <out>.png.

    python benchmarks/ingest.py [--copies 34] [--out ingest] [--variants shipped,one-actor]
        [--starts defaults,lean] [--skip-langchain] [--with-ner]

The corpus: the 48 XQuAD-ru articles as Markdown, ``--copies`` times (each copy's heading says
which copy it is, so each is a distinct document); 34 copies ≈ 10k chunks, 335 ≈ 100k.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
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
from ruai.ingest.extraction import Extractor
from ruai.ingest.inline_index import index_files
from ruai.ingest.processing import DocumentProcessor
from ruai.lifecycle.registry import resolve_dense_model
from ruai.settings import Settings
from ruai.store.edge import EdgeStore

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
DATASET = Path(
    os.environ.get("RUAI_XQUAD_RU", REPO.parent / "shared/data/xquad-ru/xquad.ru.dev.json")
)


# what a process of the job's tree is, by its title (Ray names its workers "ray::<what runs>")
PROCESS_KINDS = (
    ("stage actors", ("ray::MapWorker", "ray::_MapWorker")),
    ("store owner", ("ray::ShardOwner",)),
    ("idle (prestarted) workers", ("ray::IDLE",)),
    ("parse child processes", ("ruai.ingest.isolated_extraction",)),
    ("Ray's own processes", ("raylet", "gcs_server", "dashboard", "agent", "monitor", "ray/")),
)


# the split the CPU-seconds are reported in: the job's own kinds, and everything else Ray runs
# (raylet, GCS, agents, Ray Data's helper actors, prestarted workers) as "Ray's own"
CPU_GROUPS = ("stage actors", "parse child processes", "store owner", "driver")
RAY_OWN = "Ray's own"


def cpu_group(kind: str) -> str:
    return kind if kind in CPU_GROUPS else RAY_OWN


def _busy_cpu_s() -> float:
    """CPU-seconds the whole machine has been busy (every process, ours and others')."""
    times = psutil.cpu_times()
    return times.user + times.nice + times.system + times.irq + times.softirq


def process_kind(proc: psutil.Process) -> str:
    if proc.pid == os.getpid():
        return "driver"
    title = " ".join(proc.cmdline()[:3])
    for kind, marks in PROCESS_KINDS:
        if any(mark in title for mark in marks):
            return kind
    # e.g. Ray Data's own actors: named by their title
    return title.split("(")[0].split(" ")[0] if title.startswith("ray::") else "other"


def _pss_and_shmem(pid: int) -> tuple[int, int]:
    """A process's PSS and the part of it in shared memory (Ray's object store is a /dev/shm
    file every worker maps), in bytes."""
    fields = {}
    with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
        for line in rollup:
            name, _, rest = line.partition(":")
            if name in ("Pss", "Pss_Shmem"):
                fields[name] = int(rest.split()[0]) * 1024
    return fields.get("Pss", 0), fields.get("Pss_Shmem", 0)


class PeakMemory:
    """Samples the RSS of this process and all its descendants every 50 ms; ``by_kind`` is the
    split (``process_kind``) at the peak. Summed RSS counts every page shared between processes
    (Python, numpy, Arrow, the model files they map) once per process, so every second it also
    sums PSS (each shared page split among its sharers: the memory the
    tree really holds); ``pss_peak``/``pss_by_kind`` are the largest such sum and its split.
    Also the CPU seconds each kind used while it ran (``cpu_by_kind``: the last sample of each
    process minus what it had used at the start)."""

    PSS_EVERY = 20  # samples: reading smaps costs more than RSS

    def __init__(self) -> None:
        self.peak = 0
        self.by_kind: dict[str, int] = {}
        self.pss_peak = 0
        self.pss_by_kind: dict[str, int] = {}
        self.pss_shmem_by_kind: dict[str, int] = {}  # of pss_by_kind: /dev/shm, Ray's object store
        self._samples = 0
        self._cpu: dict[int, tuple[str, float, float]] = {}  # pid → (kind, at start, last seen)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _tree() -> list[psutil.Process]:
        me = psutil.Process()
        return [me, *me.children(recursive=True)]

    def _sample_pss(self) -> None:
        split: dict[str, int] = {}
        shared: dict[str, int] = {}
        for proc in self._tree():
            with contextlib.suppress(psutil.Error, OSError):
                kind = process_kind(proc)
                pss, shmem = _pss_and_shmem(proc.pid)
                split[kind] = split.get(kind, 0) + pss
                shared[kind] = shared.get(kind, 0) + shmem
        if sum(split.values()) > self.pss_peak:
            self.pss_peak, self.pss_by_kind = sum(split.values()), split
            self.pss_shmem_by_kind = shared

    def _sample(self) -> dict[str, int]:
        split: dict[str, int] = {}
        for proc in self._tree():
            with contextlib.suppress(psutil.Error):
                kind = process_kind(proc)
                split[kind] = split.get(kind, 0) + proc.memory_info().rss
                times = proc.cpu_times()
                used = times.user + times.system
                if proc.pid in self._cpu:
                    known, start, _ = self._cpu[proc.pid]
                    # a process keeps the kind it had: an exiting one has no command line left
                    # (it would count as "other"), a worker took its title after start-up
                    if kind == "other":
                        kind = known
                else:  # already running at the start, or started since (counted from zero)
                    start = 0.0 if self._thread.is_alive() else used
                self._cpu[proc.pid] = (kind, start, used)
        return split

    @property
    def cpu_by_kind(self) -> dict[str, float]:
        split: dict[str, float] = {}
        for kind, start, last in self._cpu.values():
            split[kind] = split.get(kind, 0.0) + last - start
        return {kind: round(seconds, 1) for kind, seconds in sorted(split.items())}

    def _run(self) -> None:
        while not self._stop.is_set():
            split = self._sample()
            self._samples += 1
            if sum(split.values()) > self.peak:
                self.peak, self.by_kind = sum(split.values()), split
            if self._samples % self.PSS_EVERY == 0:
                self._sample_pss()
            time.sleep(0.05)

    def __enter__(self) -> PeakMemory:
        self._sample()  # what the processes already running had used: the baseline
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def measure(name: str, docs: int, fn: Callable[[], int]) -> dict:
    print(f">> {name} …", flush=True)
    load_before = os.getloadavg()[0]
    busy_before = _busy_cpu_s()
    with PeakMemory() as memory:
        started = time.perf_counter()
        chunks = fn()
        seconds = time.perf_counter() - started
    busy = _busy_cpu_s() - busy_before
    cpu = memory.cpu_by_kind
    by_group: dict[str, float] = {}
    for kind, used in cpu.items():
        by_group[cpu_group(kind)] = by_group.get(cpu_group(kind), 0.0) + used
    per_1k = 1000 / max(chunks, 1)
    row = {
        "name": name,
        "seconds": round(seconds, 2),
        "documents": docs,
        "chunks": chunks,
        "docs_per_s": round(docs / seconds, 1),
        "chunks_per_s": round(chunks / seconds, 1),
        "peak_rss_mib": round(memory.peak / 2**20),
        "peak_rss_mib_by_kind": {k: round(v / 2**20) for k, v in sorted(memory.by_kind.items())},
        "peak_pss_mib": round(memory.pss_peak / 2**20),
        "peak_pss_mib_by_kind": {
            k: round(v / 2**20) for k, v in sorted(memory.pss_by_kind.items())
        },
        "peak_pss_shmem_mib_by_kind": {
            k: round(v / 2**20) for k, v in sorted(memory.pss_shmem_by_kind.items())
        },
        "cpu_s": round(sum(cpu.values()), 1),
        "cpu_s_per_1k_chunks": round(sum(cpu.values()) * per_1k, 3),
        "cpu_s_per_1k_chunks_by_group": {
            group: round(by_group.get(group, 0.0) * per_1k, 3) for group in (*CPU_GROUPS, RAY_OWN)
        },
        "cpu_s_by_kind": cpu,
        "load_average_1m": round(os.getloadavg()[0], 1),
        "load_average_1m_before": round(load_before, 1),
        # what the rest of the machine (other users) used meanwhile, of 2 × seconds on 2 cores
        "others_cpu_s": round(max(0.0, busy - sum(cpu.values())), 1),
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
    dense = build_dense_encoder(resolve_dense_model(settings), lemmatizer=processor.lemmatizer)
    with EdgeStore(settings.qdrant_path) as store:
        return index_files(settings, files, store, dense, processor)


def langchain(settings: Settings, files: list[Path], path: Path) -> int:
    from langchain_core.embeddings import Embeddings
    from langchain_qdrant import QdrantVectorStore

    from ruai.loaders import load_document
    from ruai.text.chunking import chunk_text

    encoder = build_dense_encoder(resolve_dense_model(settings))
    count_tokens, max_tokens = build_token_counter(resolve_dense_model(settings))

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
    ("cpu_s_per_1k_chunks", "CPU-s per 1,000 chunks (lower is better)", "#c44e52"),
    ("peak_rss_mib", "peak RSS, MiB (process + children)", "#dd8452"),
    ("peak_pss_mib", "peak PSS, MiB (shared pages split)", "#55a868"),
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


# how the job's Ray runs: ray.init's defaults on 2 CPUs, and a lean start (no prestarted idle
# workers, a small object store: the job's blocks are a few MB)
RAY_STARTS = {
    "Ray defaults": {},
    "lean Ray": {
        "object_store_memory": 128 * 2**20,
        "_system_config": {"enable_worker_prestart": False, "prestart_worker_first_driver": False},
    },
}
# the job's own settings, each on every Ray start: as shipped, and sized for one 2-core node
# (one stage actor: the other core runs the parse child, the owner, the driver and Ray)
JOB_VARIANTS = {
    "": {},
    ", 32 files/block (the earlier default)": {"ingest_files_per_batch": 32},
    ", 1 stage actor": {"ingest_concurrency": 1},
    ", 8 files/block": {"ingest_files_per_batch": 8},
}
# the names --variants and --starts take
VARIANT_KEYS = dict(
    zip(("shipped", "32-files", "one-actor", "8-files"), JOB_VARIANTS, strict=True)
)
START_KEYS = dict(zip(("defaults", "lean"), RAY_STARTS, strict=True))


def run_ray_part(work: Path, with_ner: bool, starts: list[str], variants: list[str]) -> None:
    """(a) on each Ray start, in this fresh process; the rows go to ``work/ray.json``."""
    import ray

    from raystore import release_store

    docs = len(list((work / "corpus").rglob("*.md")))
    use_token_auth()  # the project's token, not ~/.ray
    rows, ray_init_s = [], {}
    for start in starts:
        options = RAY_STARTS[start]
        started = time.perf_counter()
        try:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, **options)
        except Exception:  # Ray's fixed 30 s node start can run out on a loaded machine
            ray.shutdown()
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, **options)
        ray_init_s[start] = round(time.perf_counter() - started, 2)
        runs = [
            (entities, variant, JOB_VARIANTS[variant])
            for variant in variants
            for entities in ((False, True) if with_ner and not variant else (False,))
        ]
        for n, (entities, variant, job) in enumerate(runs):
            settings = Settings(
                qdrant_path=work / f"ray{start[:4]}{n}",
                extract_entities=entities,
                collection="bench",
                **job,
            )
            name = f"(a) ray job, {start}{variant}" + (", NER" if entities else "")
            rows.append(measure(name, docs, lambda s=settings: ray_job(s, work / "corpus")))
            # the owner is detached (it outlives a job so that Serve can query the shard): stop
            # it, or its process and shard count in the next run's memory
            release_store(settings)
        ray.shutdown()
        time.sleep(3)  # let the previous cluster's processes go before the next one counts
    result = {"rows": rows, "ray_init_seconds": ray_init_s}
    (work / "ray.json").write_text(json.dumps(result), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--copies", type=int, default=34, help="sample corpus copies (~299 chunks each)"
    )
    parser.add_argument("--out", default="ingest", help="results file name, without suffix")
    parser.add_argument(
        "--variants", default=",".join(VARIANT_KEYS), help=f"of {', '.join(VARIANT_KEYS)}"
    )
    parser.add_argument(
        "--starts", default=",".join(START_KEYS), help=f"of {', '.join(START_KEYS)}"
    )
    parser.add_argument("--skip-langchain", action="store_true")
    parser.add_argument("--with-ner", action="store_true", help="also (a) and (b) with NER")
    parser.add_argument("--ray-part", type=Path, help=argparse.SUPPRESS)  # internal: (a) only
    args = parser.parse_args()
    starts = [START_KEYS[key] for key in args.starts.split(",")]
    variants = [VARIANT_KEYS[key] for key in args.variants.split(",")]
    if args.ray_part:
        run_ray_part(args.ray_part, args.with_ner, starts, variants)
        return

    work = Path(tempfile.mkdtemp(prefix="ruai-bench-"))
    write_sample_corpus(DATASET, work / "sample")
    files = replicate_corpus(work / "sample" / "articles", work / "corpus", args.copies)
    docs = len(files)
    print(f"corpus: {docs} documents in {work / 'corpus'}")
    rows = []
    # the single-process baselines first, so that Ray's processes don't count in their memory
    for entities in (False, True) if args.with_ner else (False,):
        settings = Settings(
            qdrant_path=work / f"loop{int(entities)}", extract_entities=entities, collection="bench"
        )
        name = "(b) plain loop" + (", NER" if entities else "")
        rows.append(measure(name, docs, lambda s=settings: plain_loop(s, files)))
    if not args.skip_langchain:
        settings = Settings(extract_entities=False)
        rows.append(
            measure(
                "(c) LangChain from_texts", docs, lambda: langchain(settings, files, work / "lc")
            )
        )

    command = [sys.executable, __file__, "--ray-part", str(work)]
    command += ["--starts", args.starts, "--variants", args.variants]
    subprocess.run(command + (["--with-ner"] if args.with_ner else []), check=True)
    ray_part = json.loads((work / "ray.json").read_text())
    rows += ray_part["rows"]
    ray_init_s = ray_part["ray_init_seconds"]

    by_name = {r["name"]: r for r in rows}

    def ratio(a: str, b: str) -> float | None:
        if a in by_name and b in by_name:
            return round(by_name[a]["chunks_per_s"] / by_name[b]["chunks_per_s"], 2)
        return None

    def cpu_ratio(a: str, b: str) -> float | None:
        if a in by_name and b in by_name:
            return round(by_name[a]["cpu_s_per_1k_chunks"] / by_name[b]["cpu_s_per_1k_chunks"], 2)
        return None

    ratios = {}
    for start in starts:
        for variant in variants:
            job = f"(a) ray job, {start}{variant}"
            ratios[f"{start}{variant}: a_vs_b"] = ratio(job, "(b) plain loop")
            ratios[f"{start}{variant}: a_vs_c"] = ratio(job, "(c) LangChain from_texts")
            ratios[f"{start}{variant}: cpu_per_chunk_a_vs_b"] = cpu_ratio(job, "(b) plain loop")
        job = f"(a) ray job, {start}"
        if args.with_ner:
            ratios[f"{start}: a_vs_b_ner"] = ratio(f"{job}, NER", "(b) plain loop, NER")
    result = {
        "machine": {"cpus": psutil.cpu_count(), "platform": platform.platform()},
        "corpus": {"xquad_ru_article_copies": args.copies, "documents": docs},
        "ray_init_seconds": ray_init_s,
        "rows": rows,
        "ratios_chunks_per_s": ratios,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    plot(rows, RESULTS / f"{args.out}.png")
    print(json.dumps(ratios, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
