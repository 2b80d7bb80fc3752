"""Write XQuAD-ru as a sample corpus of Markdown articles (with attribution), and replicate it.

Writes are idempotent: a file whose bytes would not change is left untouched (mtime included),
so re-running and re-ingesting is a no-op.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from pathlib import Path

from ruai.eval.squad import SquadDataset, read_squad

ARTICLES_DIRNAME = "articles"
ATTRIBUTION_FILENAME = "ATTRIBUTION.md"
LICENSE_FILENAME = "LICENSE-CC-BY-SA-4.0.txt"

_ATTRIBUTION = """\
# Attribution

The Markdown files in `{articles}/` are derived from **XQuAD** (Russian part):

> Mikel Artetxe, Sebastian Ruder, Dani Yogatama. 2020. *On the Cross-lingual Transferability of
> Monolingual Representations.* In Proceedings of the 58th Annual Meeting of the Association for
> Computational Linguistics (ACL 2020).

- Source: https://github.com/google-deepmind/xquad, file `xquad.ru.json` (Russian translation
  of 240 paragraphs from 48 English Wikipedia articles of SQuAD v1.1).
- Licence: Creative Commons Attribution-ShareAlike 4.0 International (CC BY-SA 4.0), full text
  in `{licence}`; https://creativecommons.org/licenses/by-sa/4.0/
- Changes: the paragraph contexts were split into one Markdown file per article, each headed by
  the article title (underscores shown as spaces), paragraphs separated by a blank line, leading
  byte-order marks and surrounding whitespace removed. Questions and answers are not included.
  These derived files are shared under the same licence.
"""

_CYRILLIC_TO_LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "iu",
    "я": "ia",
}  # fmt: skip


def slugify(title: str) -> str:
    """ASCII file-name slug: Cyrillic transliterated, accents dropped, other runs -> ``-``."""
    latin = "".join(_CYRILLIC_TO_LATIN.get(ch, ch) for ch in title.lower())
    ascii_text = unicodedata.normalize("NFKD", latin).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-") or "article"


def display_title(title: str) -> str:
    """A Wikipedia-style title (``Fresno,_California``) as shown in the heading."""
    return title.replace("_", " ").strip()


def article_markdown(title: str, paragraphs: list[str]) -> str:
    """``# <title>``, a blank line, then the paragraphs (BOM and edge whitespace stripped)."""
    body = "\n\n".join(p.replace("\ufeff", "").strip() for p in paragraphs)
    return f"# {display_title(title)}\n\n{body}\n"


def write_sample_corpus(
    dataset_path: str | Path, out_dir: str | Path, license_path: str | Path | None = None
) -> list[Path]:
    """Write one Markdown file per article into ``out_dir/articles/``; return those paths.

    Also writes ``out_dir/ATTRIBUTION.md`` and copies the CC BY-SA 4.0 licence (by default the
    ``LICENSE-CC-BY-SA-4.0.txt`` beside the dataset) to ``out_dir``, outside ``articles/`` so
    that ingesting ``articles/`` ingests only the articles.
    """
    dataset_path = Path(dataset_path)
    license_path = Path(license_path) if license_path else dataset_path.parent / LICENSE_FILENAME
    if not license_path.is_file():
        raise FileNotFoundError(
            f"licence file not found: {license_path}; XQuAD is CC BY-SA 4.0 and its licence must "
            "travel with any copy: pass license_path or put it beside the dataset"
        )
    dataset = read_squad(dataset_path)
    out_dir = Path(out_dir)
    articles_dir = out_dir / ARTICLES_DIRNAME
    articles_dir.mkdir(parents=True, exist_ok=True)
    written = [
        _write_if_changed(articles_dir / name, text.encode("utf-8"))
        for name, text in _article_files(dataset)
    ]
    attribution = _ATTRIBUTION.format(articles=ARTICLES_DIRNAME, licence=LICENSE_FILENAME)
    _write_if_changed(out_dir / ATTRIBUTION_FILENAME, attribution.encode("utf-8"))
    _write_if_changed(out_dir / LICENSE_FILENAME, license_path.read_bytes())
    return written


def replicate_corpus(articles_dir: str | Path, out_dir: str | Path, copies: int) -> list[Path]:
    """Write ``copies`` distinct copies of every ``*.md`` article for scale benchmarks.

    Copy ``i`` of ``NN-slug.md`` is ``NN-slug--copyIIII.md``; its heading gains ``(copy i)`` (a
    heading line is added if the file has none), so every copy is a distinct document.
    """
    if copies < 1:
        raise ValueError(f"copies must be >= 1, got {copies}")
    sources = sorted(Path(articles_dir).glob("*.md"))
    if not sources:
        raise FileNotFoundError(f"no *.md articles in {articles_dir}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for source in sources:
        text = source.read_text(encoding="utf-8")
        heading, sep, rest = text.partition("\n")
        if not heading.startswith("# "):
            heading, sep, rest = f"# {source.stem}", "\n\n", text
        for i in range(copies):
            data = f"{heading} (copy {i}){sep}{rest}".encode()
            written.append(_write_if_changed(out_dir / f"{source.stem}--copy{i:04d}.md", data))
    return written


def _article_files(dataset: SquadDataset) -> list[tuple[str, str]]:
    """(file name, Markdown) per article, numbered from 01 in file order."""
    width = max(2, len(str(len(dataset.article_titles))))
    files = []
    for number, (index, title) in enumerate(sorted(dataset.article_titles.items()), start=1):
        markdown = article_markdown(title, [p.context for p in dataset.paragraphs_of(index)])
        files.append((f"{number:0{width}d}-{slugify(title)}.md", markdown))
    return files


def _write_if_changed(path: Path, data: bytes) -> Path:
    """Write atomically unless the file already holds exactly these bytes."""
    if path.is_file() and path.read_bytes() == data:
        return path
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
