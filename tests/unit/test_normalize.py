import pytest

from ruai.text.normalize import fold_yo, normalize_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("инфор-\nмация", "информация"),
        ("инфор- \n  мация и дан-\r\nные", "информация и данные"),
        ("кто-то пришёл", "кто-то пришёл"),
        ("кто-\nто пришёл", "кто-то пришёл"),
        ("какой-\nнибудь", "какой-нибудь"),
        ("кое-\nкто", "кое-кто"),
        ("инфор\u00ad\nмация", "информация"),
        ("при\u00adвет", "привет"),
        ("\ufeffначало", "начало"),
        ("сере\ufeffдина", "середина"),
        ("нуле\u200bвая ши\u200dрина\u2060", "нулевая ширина"),
        ("много    пробелов\tи\t\tтабов", "много пробелов и табов"),
        ("неразрывный\u00a0пробел", "неразрывный пробел"),
        ("строка один\nстрока два", "строка один строка два"),
        ("абзац один\r\n\r\nабзац два", "абзац один\n\nабзац два"),
        ("абзац один\n \n\t\n\n\nабзац два", "абзац один\n\nабзац два"),
        ("  \n\n  текст  \n\n  ", "текст"),
        ("страница один\fстраница два", "страница один\n\nстраница два"),
        ("ёлка и Ёж", "ёлка и Ёж"),
        ("", ""),
    ],
)
def test_normalize_text(raw, expected):
    assert normalize_text(raw) == expected


def test_nfc_composes_yo():
    decomposed = "е\u0308ж"  # е + combining diaeresis
    assert normalize_text(decomposed) == "ёж"


def test_normalize_is_idempotent():
    raw = "Заголовок\n\nПервый абзац,\nпродолжение инфор-\nмации.\n\n\n\nВторой абзац."
    once = normalize_text(raw)
    assert once == "Заголовок\n\nПервый абзац, продолжение информации.\n\nВторой абзац."
    assert normalize_text(once) == once


def test_fold_yo():
    assert fold_yo("Ёлка, ёж, всё") == "Елка, еж, все"


def test_stress_marks_come_off_cyrillic_letters_only() -> None:
    text = normalize_text("Москва́ — столи́ца Росси́и. Ѐлка ѝ ёлка, café, й\u0306")
    assert text == "Москва — столица России. Елка и ёлка, café, й\u0306"
    assert normalize_text("Москва — столица") == "Москва — столица"
