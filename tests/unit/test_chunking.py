import random

import pytest

from ruai.text.chunking import TextSpan, chunk_text, count_words
from ruai.text.sentences import paragraph_spans, split_sentences

TEXT = (
    "Москва является столицей России. В городе много музеев и парков. "
    "Летом жители уезжают на дачу. Зимой катаются на лыжах.\n\n"
    "Короткий абзац.\n\n"
    "Третий абзац начинается здесь. Он содержит ещё одно предложение. И последнее."
)


def _random_text(seed: int, paragraphs: int = 30) -> str:
    rng = random.Random(seed)
    words = ["дом", "кот", "река", "город", "ёлка", "информация", "система", "данные", "поиск"]
    out = []
    for _ in range(paragraphs):
        sentences = []
        for _ in range(rng.randint(1, 8)):
            length = rng.choice([1, 3, 8, 20, 60])
            sentences.append(" ".join(rng.choice(words) for _ in range(length)).capitalize() + ".")
        out.append(" ".join(sentences))
    return "\n\n".join(out)


def _assert_valid(text: str, chunks: list[TextSpan], max_tokens: int, counter) -> None:
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.text == chunk.text.strip() and chunk.text
        assert counter(chunk.text) <= max_tokens
        assert "\n\n" not in chunk.text
    covered = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_sentences_cover_text_and_respect_paragraphs():
    spans = split_sentences(TEXT)
    sentences = [TEXT[a:b] for a, b in spans]
    assert sentences[:2] == ["Москва является столицей России.", "В городе много музеев и парков."]
    assert "Короткий абзац." in sentences
    assert all("\n\n" not in s for s in sentences)
    assert [a for a, _ in spans] == sorted(a for a, _ in spans)


def test_heading_without_period_is_its_own_sentence():
    text = "Введение\n\nПервое предложение текста. Второе."
    assert [text[a:b] for a, b in split_sentences(text)] == [
        "Введение",
        "Первое предложение текста.",
        "Второе.",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Тесла родился в 1856 г. Умер он в 1943 г. в Нью-Йорке.",
         ["Тесла родился в 1856 г.", "Умер он в 1943 г. в Нью-Йорке."]),
        ("Базилика построена в 1038–40 гг. Существует спор о том, кто её строил.",
         ["Базилика построена в 1038–40 гг.", "Существует спор о том, кто её строил."]),
        ("Это было в 1938 г. Он уехал.", ["Это было в 1938 г.", "Он уехал."]),
        # an abbreviation before a name or an adjective stays inside its sentence
        ("В 1943 г. Москва была столицей.", ["В 1943 г. Москва была столицей."]),
        ("С 1922 г. Советский Союз рос.", ["С 1922 г. Советский Союз рос."]),
        ("Ф. М. Достоевский жил в г. Санкт-Петербург.",
         ["Ф. М. Достоевский жил в г. Санкт-Петербург."]),
    ],
)  # fmt: skip
def test_an_abbreviation_ends_a_sentence_before_a_verb_or_pronoun(text, expected):
    """razdel keeps «1856 г. Умер» in one sentence: the answer would cite both halves."""
    assert [text[a:b] for a, b in split_sentences(text)] == expected


def test_paragraph_spans_strip_whitespace():
    text = "  один\n\n\n два \n \nтри  "
    assert [text[a:b] for a, b in paragraph_spans(text)] == ["один", "два", "три"]


def test_each_paragraph_starts_a_chunk():
    chunks = chunk_text(TEXT, max_tokens=1000, count_tokens=count_words)
    assert [c.text for c in chunks] == TEXT.split("\n\n")


def test_overlap_repeats_the_last_sentence():
    paragraph = TEXT.split("\n\n")[0]
    chunks = chunk_text(paragraph, max_tokens=11, count_tokens=count_words, overlap_sentences=1)
    assert [c.text for c in chunks] == [
        "Москва является столицей России. В городе много музеев и парков.",
        "В городе много музеев и парков. Летом жители уезжают на дачу.",
        "Летом жители уезжают на дачу. Зимой катаются на лыжах.",
    ]


def test_no_overlap_across_paragraphs_or_when_disabled():
    chunks = chunk_text(TEXT, max_tokens=11, count_tokens=count_words, overlap_sentences=0)
    texts = [c.text for c in chunks]
    assert texts[0] == "Москва является столицей России. В городе много музеев и парков."
    assert texts[1] == "Летом жители уезжают на дачу. Зимой катаются на лыжах."
    assert texts[2] == "Короткий абзац."
    assert all(a.end <= b.start for a, b in zip(chunks, chunks[1:], strict=False))


def test_overlap_is_skipped_when_it_leaves_no_room():
    text = "Один два три четыре пять. Шесть семь восемь девять десять."
    chunks = chunk_text(text, max_tokens=5, count_tokens=count_words, overlap_sentences=1)
    assert [c.text for c in chunks] == [
        "Один два три четыре пять.",
        "Шесть семь восемь девять десять.",
    ]


def test_long_sentence_is_split_between_words():
    sentence = " ".join(f"слово{i}" for i in range(50)) + "."
    chunks = chunk_text(sentence, max_tokens=7, count_tokens=count_words)
    _assert_valid(sentence, chunks, 7, count_words)
    assert len(chunks) == 8
    for chunk in chunks:
        assert chunk.start == 0 or sentence[chunk.start - 1] == " "
        assert chunk.end == len(sentence) or sentence[chunk.end] == " "


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("max_tokens", [1, 5, 40, 200])
def test_word_limit_is_never_exceeded(seed, max_tokens):
    text = _random_text(seed)
    _assert_valid(text, chunk_text(text, max_tokens, count_words), max_tokens, count_words)


@pytest.mark.parametrize("seed", [4, 5])
@pytest.mark.parametrize("max_chars", [7, 50, 300])
def test_character_limit_is_never_exceeded(seed, max_chars):
    text = _random_text(seed)
    _assert_valid(text, chunk_text(text, max_chars, len), max_chars, len)


def test_non_additive_counter_is_respected():
    def with_special_tokens(text: str) -> int:  # like a tokenizer that adds [CLS] and [SEP]
        return count_words(text) + 2

    text = _random_text(6)
    chunks = chunk_text(text, 30, with_special_tokens, overlap_sentences=2)
    _assert_valid(text, chunks, 30, with_special_tokens)


def test_huge_line_without_spaces_is_split_by_characters():
    text = "а" * 2_000_000
    chunks = chunk_text(text, max_tokens=1000, count_tokens=len)
    assert len(chunks) == 2000
    assert "".join(c.text for c in chunks) == text
    assert all(len(c.text) <= 1000 for c in chunks)


def test_huge_word_counts_as_one_word():
    text = "б" * 2_000_000
    chunks = chunk_text(text, max_tokens=10, count_tokens=count_words)
    assert [(c.start, c.end) for c in chunks] == [(0, len(text))]


def test_empty_text():
    assert chunk_text("", 10, count_words) == []
    assert chunk_text(" \n\n\t ", 10, count_words) == []


def test_impossible_limits_raise():
    with pytest.raises(ValueError, match="max_tokens"):
        chunk_text("текст", 0, count_words)
    with pytest.raises(ValueError, match="single character"):
        chunk_text("текст", 1, lambda t: 2 * len(t))


def test_count_words():
    assert count_words("  один два\nтри\t") == 3
    assert count_words("") == 0


def test_table_rows_are_packed_whole_under_their_heading() -> None:
    from ruai.text.chunking import chunk_table

    heading = "Тарифы\nТариф | Цена"
    rows_text = "\n\n".join(f"Тариф{i} | {i}00" for i in range(10))
    text = f"{heading}\n\n{rows_text}"
    starts = [text.index(f"Тариф{i} |") for i in range(10)]
    rows = tuple((start, start + len(f"Тариф{i} | {i}00")) for i, start in enumerate(starts))
    chunks = chunk_table(text, heading, rows, max_tokens=12)
    assert [c.text.split("\n")[2:] for c in chunks] == [
        [f"Тариф{i} | {i}00" for i in range(first, min(first + 2, 10))] for first in range(0, 10, 2)
    ]
    assert all(c.text.startswith(heading + "\n") for c in chunks)
    assert (chunks[0].start, chunks[-1].end) == (rows[0][0], rows[-1][1])
    # a heading that takes half the limit or more is left out rather than crowd out the rows
    bare = chunk_table(text, heading, rows, max_tokens=6)
    assert all(not c.text.startswith("Тарифы") for c in bare)
