"""ruai.eval.sample_corpus: XQuAD-ru as Markdown articles with attribution; replication."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from ruai.eval import ParagraphIndex, read_squad, replicate_corpus, write_sample_corpus
from ruai.eval.sample_corpus import ATTRIBUTION_FILENAME, LICENSE_FILENAME, slugify

XQUAD_RU = Path(os.environ.get("RUAI_XQUAD_RU", "/work/shared/data/xquad-ru/xquad.ru.dev.json"))


@pytest.fixture(scope="module")
def dataset_path() -> Path:
    if not XQUAD_RU.is_file():
        pytest.skip(f"XQuAD-ru not found at {XQUAD_RU} (set RUAI_XQUAD_RU)")
    return XQUAD_RU


@pytest.fixture(scope="module")
def corpus(dataset_path: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("sample")
    return out, write_sample_corpus(dataset_path, out)


def test_writes_one_markdown_file_per_article(
    dataset_path: Path, corpus: tuple[Path, list[Path]]
) -> None:
    out, written = corpus
    articles = sorted((out / "articles").iterdir())
    assert articles == sorted(written)
    assert len(articles) == 48
    assert [p.name for p in articles[:2]] == ["01-super-bowl-50.md", "02-warsaw.md"]
    assert all(re.fullmatch(r"\d\d-[a-z0-9-]+\.md", p.name) for p in articles)

    dataset = read_squad(dataset_path)
    for number, path in enumerate(articles):
        text = path.read_text(encoding="utf-8")
        title = dataset.article_titles[number].replace("_", " ")
        assert text.startswith(f"# {title}\n\n")
        assert "\ufeff" not in text
        blocks = text.removeprefix(f"# {title}\n\n").removesuffix("\n").split("\n\n")
        expected = [p.context.replace("\ufeff", "").strip() for p in dataset.paragraphs_of(number)]
        assert blocks == expected


def test_every_markdown_paragraph_maps_to_its_xquad_paragraph(
    dataset_path: Path, corpus: tuple[Path, list[Path]]
) -> None:
    out, written = corpus
    index = ParagraphIndex(read_squad(dataset_path).paragraphs)
    for a_idx, path in enumerate(sorted(written)):
        blocks = path.read_text(encoding="utf-8").split("\n\n")
        assert index.paragraph_of(blocks[0]) is None  # the title line
        assert [index.paragraph_of(b) for b in blocks[1:]] == [f"{a_idx}:{i}" for i in range(5)]


def test_attribution_and_licence_sit_outside_articles(
    dataset_path: Path, corpus: tuple[Path, list[Path]]
) -> None:
    out, _ = corpus
    attribution = (out / ATTRIBUTION_FILENAME).read_text(encoding="utf-8")
    for needle in ("Artetxe", "Ruder", "Yogatama", "2020", "google-deepmind/xquad",
                   "xquad.ru.json", "CC BY-SA 4.0", "one Markdown file per article"):  # fmt: skip
        assert needle in attribution
    licence = (out / LICENSE_FILENAME).read_bytes()
    assert licence == (dataset_path.parent / LICENSE_FILENAME).read_bytes()
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["articles", ATTRIBUTION_FILENAME, LICENSE_FILENAME]
    )
    assert all(p.suffix == ".md" for p in (out / "articles").iterdir())


def test_second_run_rewrites_nothing(dataset_path: Path, tmp_path: Path) -> None:
    first = write_sample_corpus(dataset_path, tmp_path)
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert len(files) == 50
    before = {p: (p.stat().st_mtime_ns, p.stat().st_ino, p.read_bytes()) for p in files}
    past = 1_000_000_000 * 1_000_000_000  # 2001-09-09, so any rewrite would show
    for p in files:
        os.utime(p, ns=(past, past))

    assert write_sample_corpus(dataset_path, tmp_path) == first
    after_files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert after_files == files  # no temporary files left behind
    for p in files:
        assert p.stat().st_mtime_ns == past
        assert (p.stat().st_ino, p.read_bytes()) == before[p][1:]


def test_changed_file_is_restored(dataset_path: Path, tmp_path: Path) -> None:
    written = write_sample_corpus(dataset_path, tmp_path)
    original = written[3].read_bytes()
    written[3].write_text("испорчено", encoding="utf-8")
    write_sample_corpus(dataset_path, tmp_path)
    assert written[3].read_bytes() == original


def test_missing_licence_is_a_clear_error(dataset_path: Path, tmp_path: Path) -> None:
    lonely = tmp_path / "src" / "xquad.ru.dev.json"
    lonely.parent.mkdir()
    shutil.copyfile(dataset_path, lonely)
    with pytest.raises(FileNotFoundError, match="CC BY-SA 4.0"):
        write_sample_corpus(lonely, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_replicate_corpus_makes_distinct_documents(
    corpus: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    out, written = corpus
    copies = replicate_corpus(out / "articles", tmp_path, copies=3)
    assert len(copies) == 48 * 3
    assert copies[:3] == [tmp_path / f"01-super-bowl-50--copy{i:04d}.md" for i in range(3)]
    texts = [p.read_bytes() for p in copies]
    assert len(set(texts)) == len(texts)
    first = copies[0].read_text(encoding="utf-8")
    original = written[0].read_text(encoding="utf-8")
    assert first.splitlines()[0] == "# Super Bowl 50 (copy 0)"
    assert first.split("\n", 1)[1] == original.split("\n", 1)[1]

    mtimes = [p.stat().st_mtime_ns for p in copies]
    assert replicate_corpus(out / "articles", tmp_path, copies=3) == copies
    assert [p.stat().st_mtime_ns for p in copies] == mtimes


def test_replicate_corpus_rejects_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="copies"):
        replicate_corpus(tmp_path, tmp_path / "out", copies=0)
    with pytest.raises(FileNotFoundError, match=r"no \*\.md"):
        replicate_corpus(tmp_path, tmp_path / "out", copies=1)


@pytest.mark.parametrize(
    ("title", "slug"),
    [("Fresno,_California", "fresno-california"), ("Sky_(United_Kingdom)", "sky-united-kingdom"),
     ("Москва — столица", "moskva-stolitsa"), ("Ёжик_в_тумане", "ezhik-v-tumane"),
     ("Café", "cafe"), ("«»", "article")],
)  # fmt: skip
def test_slugify_is_ascii(title: str, slug: str) -> None:
    assert slugify(title) == slug
