"""The embed stage alone on CUDA: ingestion's own ``EmbedStep`` (pipelines/ingest_stages.py, the
class an embedding actor runs) over document rows of real chunks, per model and batch size:
chunks/s and peak GPU memory. No Ray cluster: the stage is called as an actor calls it.

    python benchmarks/embed_gpu.py [--models intfloat/multilingual-e5-small,deepvk/USER-bge-m3]
        [--batch-sizes 32,64,128,256,512] [--copies 10] [--allow-cpu]

The chunks: the 48 XQuAD-ru articles cut by the job's own extractor (``--copies`` times, each
copy a distinct document). Models load from local files only (a path or a filled Hugging Face
cache; nothing is downloaded): a model that does not load is recorded with its error and
skipped. Without CUDA the script stops unless ``--allow-cpu`` (a smoke run of the script itself).
Writes benchmarks/results/<out>.json and <out>.png; the JSON also says, per model, what Ray
Data's ``num_gpus`` fraction would fit a 24 GB card at each batch size.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import torch

from pipelines.ingest_stages import EmbedStep
from ruai.eval.sample_corpus import replicate_corpus, write_sample_corpus
from ruai.ingest.extraction import Extractor
from ruai.ingest.rows import DOC_ROW_SCHEMA
from ruai.settings import Settings

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
DATASET = Path(
    os.environ.get("RUAI_XQUAD_RU", REPO.parent / "shared/data/xquad-ru/xquad.ru.dev.json")
)
CARD_GIB = 24  # the GPU workers of the design (RTX 4090)
FILES_PER_BLOCK = 128  # ingest_files_per_batch: one block a call, as the actors get them


def document_blocks(copies: int) -> list[pa.Table]:
    """Document rows (only what the embed step reads) of the corpus, a block of files each."""
    work = Path(tempfile.mkdtemp(prefix="ruai-embed-"))
    write_sample_corpus(DATASET, work / "sample")
    files = replicate_corpus(work / "sample" / "articles", work / "corpus", copies)
    extract = Extractor.from_settings(Settings())
    rows = []
    for file in files:
        spans = extract(str(file), file.read_bytes()).spans
        rows.append({"source": str(file), "texts": [s.text for s in spans]})
    schema = pa.schema([DOC_ROW_SCHEMA.field("source"), DOC_ROW_SCHEMA.field("texts")])
    return [
        pa.Table.from_pylist(rows[i : i + FILES_PER_BLOCK], schema=schema)
        for i in range(0, len(rows), FILES_PER_BLOCK)
    ]


def run(model: str, batch_size: int, device: str, blocks: list[pa.Table]) -> dict:
    settings = Settings(dense_model=model, dense_device=device, dense_batch_size=batch_size)
    step = EmbedStep(settings)
    step(blocks[0])  # warm-up: kernels, the allocator's pools
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    chunks = sum(len(t) for block in blocks for t in block.column("texts").to_pylist())
    started = time.perf_counter()
    for block in blocks:
        dense = step(block).column("dense")
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    row = {
        "model": model,
        "dim": step.encoder.dim,
        "device": device,
        "batch_size": batch_size,
        "chunks": chunks,
        "seconds": round(seconds, 2),
        "chunks_per_s": round(chunks / seconds, 1),
        "last_block_vectors": len(dense),
    }
    if device == "cuda":
        peak = torch.cuda.max_memory_reserved()
        row |= {
            "peak_gpu_allocated_mib": round(torch.cuda.max_memory_allocated() / 2**20),
            "peak_gpu_reserved_mib": round(peak / 2**20),
            # the fraction of a 24 GB card one embedding actor needs, with 20 % headroom for the
            # CUDA context and fragmentation, rounded up to a tenth
            "num_gpus_on_24gb": math.ceil(10 * 1.2 * (peak + 500 * 2**20) / (CARD_GIB * 2**30))
            / 10,
        }
    del step
    if device == "cuda":
        torch.cuda.empty_cache()
    return row


def plot(rows: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for model in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == model]
        sizes = [r["batch_size"] for r in mine]
        axes[0].plot(sizes, [r["chunks_per_s"] for r in mine], marker="o", label=model)
        axes[1].plot(sizes, [r.get("peak_gpu_reserved_mib", 0) for r in mine], marker="o")
    for ax, label in zip(axes, ("chunks/s", "peak GPU memory reserved, MiB"), strict=True):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("dense_batch_size")
        ax.set_ylabel(label)
    axes[0].legend(fontsize=8)
    fig.suptitle("ingestion's embed stage alone (EmbedStep), CUDA")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--models",
        default="all-MiniLM-L6-v2,intfloat/multilingual-e5-small,intfloat/multilingual-e5-base,"
        "intfloat/multilingual-e5-large,deepvk/USER-bge-m3",
        help="comma-separated; local paths or ids in the Hugging Face cache",
    )
    parser.add_argument("--batch-sizes", default="32,64,128,256,512")
    parser.add_argument("--copies", type=int, default=10, help="~299 chunks per copy")
    parser.add_argument("--out", default="embed_gpu")
    parser.add_argument("--allow-cpu", action="store_true", help="run on CPU without CUDA")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu" and not args.allow_cpu:
        raise SystemExit(
            "no CUDA device: this benchmark measures the GPU path (--allow-cpu runs it)"
        )
    blocks = document_blocks(args.copies)
    rows, skipped = [], {}
    for model in args.models.split(","):
        for batch_size in (int(b) for b in args.batch_sizes.split(",")):
            try:
                row = run(model, batch_size, device, blocks)
            except Exception as exc:  # not in the cache, or out of memory at this batch size
                skipped[f"{model} @ {batch_size}"] = f"{type(exc).__name__}: {exc}"[:300]
                print(f"-- {model} @ {batch_size}: {skipped[f'{model} @ {batch_size}']}")
                if device == "cuda":
                    torch.cuda.empty_cache()
                continue
            print(json.dumps(row), flush=True)
            rows.append(row)
    result = {
        "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
        "torch": torch.__version__,
        "files_per_block": FILES_PER_BLOCK,
        "rows": rows,
        "skipped": skipped,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    if rows:
        plot(rows, RESULTS / f"{args.out}.png")


if __name__ == "__main__":
    main()
