"""Dense passage encoding throughput, CPU vs CUDA side by side in one run, with the
sentence-transformers encoder that ingestion's embedding actors use (no Ray needed).

    python benchmarks/gpu_encoder.py --model all-MiniLM-L6-v2 \
        --dataset ../shared/data/xquad-ru/xquad.ru.dev.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from ruai.encoders.sentence_transformer import SentenceTransformerEncoder


def passages(dataset: Path, copies: int) -> list[str]:
    data = json.loads(dataset.read_text(encoding="utf-8"))
    texts = [p["context"].lstrip("\ufeff") for a in data["data"] for p in a["paragraphs"]]
    return texts * copies


def throughput(encoder: SentenceTransformerEncoder, texts: list[str]) -> float:
    encoder.encode_passages(texts[:64])  # warm-up: kernels, allocator
    if encoder.device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    encoder.encode_passages(texts)
    if encoder.device == "cuda":
        torch.cuda.synchronize()
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--copies", type=int, default=20, help="240 paragraphs per copy")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()

    texts = passages(args.dataset, args.copies)
    rows = []
    cpu = SentenceTransformerEncoder(args.model, device="cpu", batch_size=64)
    rows.append({"device": "cpu", "batch_size": 64, "passages_per_s": throughput(cpu, texts[:480])})
    if torch.cuda.is_available():
        for batch_size in (32, 128, 512):
            cuda = SentenceTransformerEncoder(args.model, device="cuda", batch_size=batch_size)
            rate = throughput(cuda, texts)
            rows.append({"device": "cuda", "batch_size": batch_size, "passages_per_s": rate})
    result = {
        "model": args.model,
        "passages": len(texts),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "cpu_threads": torch.get_num_threads(),
        "rows": [{**r, "passages_per_s": round(r["passages_per_s"], 1)} for r in rows],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_encoder.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
