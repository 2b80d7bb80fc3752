"""OCR quality and speed of ruai/loaders/ocr.py (Debian's tesseract, rus+eng, one thread) on
Russian pages rendered from XQuAD-ru paragraphs, side by side in one run:

  - 300 dpi, clean;
  - 200 dpi, clean;
  - 150 dpi, turned 1.5° and 2 % of the pixels noise (the issue's hard case);
  - the same 150 dpi noisy pages handed to tesseract as they are (no median filter, no
    enlargement): what the preprocessing of ``ocr_page`` buys.

Character error rate = Levenshtein distance / characters of the rendered text, both normalized
as ingestion normalizes text (``normalize_text``, whitespace collapsed). Pages per second per
core: tesseract runs with OMP_THREAD_LIMIT=1, one page at a time. Writes
benchmarks/results/ocr.json and ocr.png.

    python benchmarks/ocr.py [--pages 4]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.ingest import DATASET, RESULTS, plot  # noqa: E402
from ruai.loaders.limits import ParseLimits  # noqa: E402
from ruai.loaders.ocr import ocr_page  # noqa: E402
from ruai.text.normalize import normalize_text  # noqa: E402
from tests.support.scanned_pages import render_page  # noqa: E402

PAGE_CHARS = 1500  # about a page of 12 pt type on A4 at 70 characters a line
CONDITIONS = (
    # name, dpi, rotate, noise, preprocessed by ocr_page
    ("300 dpi clean", 300, 0.0, 0.0, True),
    ("200 dpi clean", 200, 0.0, 0.0, True),
    ("150 dpi 1.5° noise 2%", 150, 1.5, 0.02, True),
    ("150 dpi 1.5° noise 2%, raw tesseract", 150, 1.5, 0.02, False),
)
LIMITS = ParseLimits(ocr_page_timeout_s=300)


def pages_of_text(count: int) -> list[list[str]]:
    """``count`` pages, each the next XQuAD-ru paragraphs up to about PAGE_CHARS."""
    data = json.loads(DATASET.read_text(encoding="utf-8"))
    paragraphs = [p["context"] for article in data["data"] for p in article["paragraphs"]]
    pages: list[list[str]] = []
    current: list[str] = []
    for paragraph in paragraphs:
        if len(paragraph) > PAGE_CHARS:
            continue
        if sum(map(len, current)) + len(paragraph) > PAGE_CHARS and current:
            pages.append(current)
            current = []
            if len(pages) == count:
                break
        current.append(paragraph)
    return pages


def comparable(text: str) -> str:
    return " ".join(normalize_text(text).split())


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, 1):
        current = [i]
        for j, other in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other))
            )
        previous = current
    return previous[-1]


def raw_tesseract(image, dpi: int) -> str:
    png = io.BytesIO()
    image.save(png, format="PNG")
    done = subprocess.run(
        ["tesseract", "stdin", "stdout", "-l", "rus+eng", "--psm", "1", "--dpi", str(dpi)],
        input=png.getvalue(),
        capture_output=True,
        env=os.environ | {"OMP_THREAD_LIMIT": "1"},
        check=True,
    )
    return done.stdout.decode("utf-8", "replace")


def measure(name: str, dpi: int, rotate: float, noise: float, preprocessed: bool, pages) -> dict:
    errors = chars = 0
    seconds = 0.0
    per_page = []
    for number, paragraphs in enumerate(pages):
        image = render_page(paragraphs, dpi=dpi, rotate=rotate, noise=noise, seed=number)
        started = time.perf_counter()
        if preprocessed:
            text = ocr_page(image, number + 1, LIMITS, dpi)
        else:
            text = raw_tesseract(image, dpi)
        seconds += time.perf_counter() - started
        truth = comparable(" ".join(paragraphs))
        distance = edit_distance(comparable(text), truth)
        errors += distance
        chars += len(truth)
        per_page.append(round(distance / len(truth), 4))
    row = {
        "name": name,
        "dpi": dpi,
        "rotate_deg": rotate,
        "noise": noise,
        "preprocessed": preprocessed,
        "pages": len(pages),
        "chars": chars,
        "cer": round(errors / chars, 4),
        "cer_pct": round(100 * errors / chars, 2),
        "cer_per_page": per_page,
        "seconds_per_page": round(seconds / len(pages), 2),
        "pages_per_s_per_core": round(len(pages) / seconds, 3),
    }
    print(json.dumps(row, ensure_ascii=False), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=4, help="pages per condition")
    args = parser.parse_args()
    pages = pages_of_text(args.pages)
    rows = [measure(*condition, pages) for condition in CONDITIONS]
    version = subprocess.run(["tesseract", "--version"], capture_output=True, text=True)
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, shared with other agents",
        "tesseract": (version.stdout or version.stderr).splitlines()[0],
        "languages": LIMITS.ocr_languages,
        "text": f"XQuAD-ru paragraphs, {PAGE_CHARS} characters a page, DejaVu Serif 12 pt",
        "rows": rows,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ocr.json").write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    plot(
        rows,
        RESULTS / "ocr.png",
        bars=(
            ("cer_pct", "character error rate, %", "tab:red"),
            ("pages_per_s_per_core", "pages per second per core", "tab:blue"),
        ),
        title="tesseract rus+eng on rendered Russian pages, one thread",
    )
    print(f"wrote {RESULTS / 'ocr.json'} and ocr.png")


if __name__ == "__main__":
    main()
