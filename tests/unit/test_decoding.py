import codecs
import random

import pytest

from ruai.text.decoding import DecodeError, decode_bytes

CODEPAGES = ["cp1251", "koi8-r", "cp866", "iso-8859-5"]
SHORT_TEXTS = [
    "Привет",
    "ёж",
    "Ёж",
    "мир",
    "СССР",
    "МГУ",
    "съел",
    "щука",
    "кот и пёс",
    "Добрый день",
    'ООО "Ромашка"',
    "ВНИМАНИЕ всем",
    "Иван Петров",
    "т.е. всё",
]
LONG_TEXT = (
    "Съешь же ещё этих мягких французских булок, да выпей чаю.\n"
    "Москва является столицей Российской Федерации; в городе - 12,6 млн жителей.\n"
) * 20


@pytest.mark.parametrize("encoding", CODEPAGES)
@pytest.mark.parametrize("text", SHORT_TEXTS)
def test_short_cyrillic_in_every_codepage(text, encoding):
    decoded, detected = decode_bytes(text.encode(encoding))
    assert decoded == text
    assert codecs.lookup(detected).name == codecs.lookup(encoding).name


@pytest.mark.parametrize("encoding", [*CODEPAGES, "utf-8"])
def test_long_text(encoding):
    decoded, detected = decode_bytes(LONG_TEXT.encode(encoding))
    assert decoded == LONG_TEXT
    assert codecs.lookup(detected).name == codecs.lookup(encoding).name


@pytest.mark.parametrize("text", SHORT_TEXTS)
def test_utf8_short(text):
    assert decode_bytes(text.encode("utf-8")) == (text, "utf-8")


def test_cp1251_typography():
    text = "ООО «Ромашка» — № 5, цена 100 руб… «ёлки»"
    assert decode_bytes(text.encode("cp1251")) == (text, "cp1251")


def test_utf8_with_bom():
    assert decode_bytes(codecs.BOM_UTF8 + "ёж".encode()) == ("ёж", "utf-8-sig")


@pytest.mark.parametrize("text", ["ёж", "Привет, мир!", LONG_TEXT])
@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_with_bom(text, encoding):
    bom = codecs.BOM_UTF16_LE if encoding.endswith("le") else codecs.BOM_UTF16_BE
    assert decode_bytes(bom + text.encode(encoding)) == (text, encoding)


@pytest.mark.parametrize("text", ["Привет, мир!", "ёж", "Hello, world", LONG_TEXT])
@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom(text, encoding):
    assert decode_bytes(text.encode(encoding)) == (text, encoding)


def test_pure_ascii():
    assert decode_bytes(b"Hello, world.\nSecond line.") == ("Hello, world.\nSecond line.", "ascii")


def test_western_text_is_not_forced_into_a_cyrillic_codepage():
    text = "Grüße aus München, schöne Straße"
    decoded, detected = decode_bytes(text.encode("cp1252"))
    assert decoded == text
    assert detected not in CODEPAGES


def test_mojibake_utf8_is_still_utf8():
    # cp866 bytes of "раб" happen to be one valid UTF-8 character (U+0821, Samaritan)
    assert decode_bytes("раб".encode("cp866")) == ("раб", "cp866")
    assert decode_bytes("раб".encode()) == ("раб", "utf-8")


def test_utf8_cut_mid_character_is_still_utf8():
    text = "Москва является столицей России. " * 5
    decoded, detected = decode_bytes(text.encode() + "ё".encode()[:1])
    assert (decoded, detected) == (text + "\ufffd", "utf-8")


def test_empty_bytes():
    assert decode_bytes(b"") == ("", "ascii")


def test_random_binary_is_rejected():
    junk = random.Random(7).randbytes(4096)
    with pytest.raises(DecodeError, match="NUL"):
        decode_bytes(junk)


def test_control_characters_are_rejected():
    data = bytes(random.Random(1).choice(range(1, 9)) for _ in range(300)) + b"text"
    with pytest.raises(DecodeError, match="control characters"):
        decode_bytes(data)


def test_unreadable_high_bytes_are_rejected():
    rng = random.Random(3)
    junk = bytes(rng.randrange(0x80, 0x100) for _ in range(2000))
    with pytest.raises(DecodeError, match="readable"):
        decode_bytes(junk)


def test_decode_error_is_a_value_error():
    assert issubclass(DecodeError, ValueError)
