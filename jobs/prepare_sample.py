"""Write the sample corpus: the 48 XQuAD-ru articles as Markdown files, with their attribution.

    python -m jobs.prepare_sample [--dataset ../shared/data/xquad-ru/xquad.ru.dev.json] \
        [--out data/sample/xquad-ru]
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from jobs.cli import fail
from ruai.eval.sample_corpus import write_sample_corpus

app = typer.Typer(add_completion=False, help=__doc__)

DEFAULT_DATASET = (
    Path(__file__).resolve().parents[1].parent / "shared/data/xquad-ru/xquad.ru.dev.json"
)


@app.command()
def main(
    dataset: Path = typer.Option(DEFAULT_DATASET, help="XQuAD-ru (SQuAD JSON)"),
    out: Path = typer.Option(Path("data/sample/xquad-ru"), help="Output directory"),
) -> None:
    if not dataset.exists():
        fail(f"dataset not found: {dataset} (pass --dataset)")
    paths = write_sample_corpus(dataset, out)
    typer.echo(
        f"{len(paths)} articles in {out / 'articles'} (attribution: {out / 'ATTRIBUTION.md'})"
    )


if __name__ == "__main__":
    sys.exit(app())
