"""Spreadsheets, slides, OpenDocument, RTF, e-mail and legacy Word: what each yields, where each
chunk lies (sheet, slide, page), tables chunked by rows under their heading, and the
right parser for a file whose extension is wrong."""

from __future__ import annotations

import io
import zipfile

import docx
import pytest

from ruai.ingest.documents import Document
from ruai.ingest.extraction import Extractor
from ruai.loaders import LimitExceededError, LoaderError, ParseLimits, detect_format, load_document
from ruai.settings import Settings
from ruai.text.chunking import TextSpan, count_words
from tests.support import office_documents as od

HEADER_LINE = " | ".join(od.TARIFF_HEADER)
HOSTILE_LIMITS = ParseLimits(max_unzipped_bytes=1_000_000, max_markup_depth=64)
ROW_LINES = {" | ".join(row) for row in od.TARIFFS}
CONTACTS = [["Отдел", "Телефон"], ["Продажи", "8-800-100-20-30"], ["Поддержка", "8-800-100-20-31"]]
SLIDES = [
    {
        "title": "Итоги года",
        "body": ["Выручка выросла на двенадцать процентов.", "Абонентов стало больше."],
        "notes": "Сказать про рост в Поволжье.",
        "table": [["Регион", "Абоненты"], ["Казань", "12000"], ["Уфа", "9000"]],
    },
    {"title": "Планы на год", "body": ["Запуск оптики в Уфе и Самаре."]},
]


def _chunks(document: Document, max_tokens: int = 30) -> list[TextSpan]:
    return Extractor(Settings(), count_words, max_tokens).chunk(document)


def _assert_rows_under_heading(chunks: list[TextSpan], heading: str) -> None:
    """Every chunk starts with the heading; every line after it is a whole row, and every row
    is in exactly one chunk."""
    seen = []
    for chunk in chunks:
        assert chunk.text.startswith(heading + "\n"), chunk.text
        rows = chunk.text[len(heading) + 1 :].split("\n")
        assert set(rows) <= ROW_LINES, rows
        seen += rows
    assert sorted(seen) == sorted(ROW_LINES)


def test_xlsx_sheets_are_sections_whose_rows_keep_their_header() -> None:
    data = od.xlsx({"Тарифы": od.tariff_rows(), "Контакты": CONTACTS})
    document = load_document("tariffs.xlsx", data)
    assert document.meta["format"] == "xlsx"
    chunks = _chunks(document)
    by_sheet = {}
    for chunk in chunks:
        by_sheet.setdefault(chunk.place, []).append(chunk)
    assert set(by_sheet) == {("sheet", "Тарифы"), ("sheet", "Контакты")}
    assert len(by_sheet["sheet", "Тарифы"]) > 2  # the table is split, by rows
    _assert_rows_under_heading(by_sheet["sheet", "Тарифы"], f"Тарифы\n{HEADER_LINE}")
    (contacts,) = by_sheet["sheet", "Контакты"]
    assert "Поддержка | 8-800-100-20-31" in contacts.text


def test_legacy_xls_sheets_are_sections_too() -> None:
    data = od.xls({"Тарифы": od.tariff_rows(), "Контакты": CONTACTS})
    assert detect_format("tariffs.bin", data) == "xls"
    chunks = _chunks(load_document("tariffs.xls", data))
    tariffs = [chunk for chunk in chunks if chunk.place == ("sheet", "Тарифы")]
    _assert_rows_under_heading(tariffs, f"Тарифы\n{HEADER_LINE}")
    assert any("Продажи | 8-800-100-20-30" in c.text for c in chunks if c.place[1] == "Контакты")


def test_a_sheets_title_row_joins_its_caption_and_numbers_read_as_written() -> None:
    rows = [["Тарифы на 2027 год", None], ["Тариф", "Цена"], ["Оптимум", 700.0], ["Старт", 350]]
    document = load_document("t.xlsx", od.xlsx({"Лист1": rows}))
    (chunk,) = _chunks(document)
    assert chunk.text == "Лист1. Тарифы на 2027 год\nТариф | Цена\nОптимум | 700\nСтарт | 350"


def test_pptx_slides_are_sections_with_title_text_tables_and_notes() -> None:
    document = load_document("deck.pptx", od.pptx(SLIDES))
    assert document.title == "Итоги года"
    chunks = _chunks(document)
    texts = {chunk.place: [] for chunk in chunks}
    for chunk in chunks:
        texts[chunk.place].append(chunk.text)
    assert texts[("slide", 1)] == [
        "Итоги года Выручка выросла на двенадцать процентов. Абонентов стало больше.",
        "Итоги года\nРегион | Абоненты\nКазань | 12000\nУфа | 9000",
        "Сказать про рост в Поволжье.",
    ]
    assert texts[("slide", 2)] == ["Планы на год Запуск оптики в Уфе и Самаре."]


def test_odt_keeps_headings_paragraphs_and_tables_under_their_caption() -> None:
    data = od.odt("Договор оказания услуг", ["Исполнитель оказывает услуги связи."],
                  "Таблица 1. Тарифы", od.tariff_rows())  # fmt: skip
    document = load_document("contract.odt", data)
    assert document.title == "Договор оказания услуг"
    assert document.text.startswith(
        "Договор оказания услуг\n\nИсполнитель оказывает услуги связи.\n\nТаблица 1. Тарифы\n\n"
    )
    tables = [chunk for chunk in _chunks(document) if HEADER_LINE in chunk.text]
    _assert_rows_under_heading(tables, f"Таблица 1. Тарифы\n{HEADER_LINE}")


def test_ods_sheets_ignore_the_padding_of_repeated_empty_rows_and_cells() -> None:
    # each row is padded with 1000 repeated empty cells, each sheet with 1 048 000 empty rows
    document = load_document("tariffs.ods", od.ods({"Тарифы": od.tariff_rows()}))
    chunks = _chunks(document)
    assert {chunk.place for chunk in chunks} == {("sheet", "Тарифы")}
    _assert_rows_under_heading(chunks, f"Тарифы\n{HEADER_LINE}")


def test_rtf_in_code_page_1251_keeps_its_russian_paragraphs() -> None:
    data = od.rtf(["Договор поставки № 5", "Поставщик обязуется передать товар в срок."])
    assert b"\\'c4\\'ee\\'e3" in data  # «Дог» as Word writes it
    document = load_document("contract.rtf", data)
    assert document.text == "Договор поставки № 5\n\nПоставщик обязуется передать товар в срок."


def test_eml_body_is_decoded_and_attachments_come_back_whole_for_their_own_documents() -> None:
    attachment = od.xlsx({"Тарифы": od.tariff_rows()})
    data = od.eml(
        "Новые тарифы",
        "Коллеги, высылаю тарифы на 2027 год.",
        {"тарифы.xlsx": attachment, "подпись.p7s": b"\x30\x82\x01 binary", "акт.docx": b"x"},
    )
    assert "Коллеги".encode("koi8-r") not in data  # base64: nothing readable in the raw mail
    document = load_document("letter.eml", data)
    assert document.title == "Новые тарифы"
    assert "Тема: Новые тарифы" in document.text
    assert "Вложения: тарифы.xlsx, подпись.p7s, акт.docx" in document.text
    assert "Коллеги, высылаю тарифы на 2027 год." in document.text
    assert HEADER_LINE not in document.text  # the sheet is a document of its own
    # a format ingestion reads (by signature, else by extension); the signature file is not one
    assert [(a.name, a.data) for a in document.attachments] == [
        ("тарифы.xlsx", attachment),
        ("акт.docx", b"x"),
    ]


def test_docx_tables_repeat_caption_and_header_and_page_breaks_number_pages(tmp_path) -> None:
    document = docx.Document()
    document.add_heading("Приложение 1", level=1)
    document.add_paragraph("Тарифы на услуги связи")
    grid = document.add_table(rows=len(od.TARIFFS) + 1, cols=len(od.TARIFF_HEADER))
    for r, row in enumerate(od.tariff_rows()):
        for c, text in enumerate(row):
            grid.cell(r, c).text = text
    document.add_page_break()
    document.add_paragraph("Условия расторжения договора на второй странице.")
    path = tmp_path / "contract.docx"
    document.save(str(path))
    loaded = load_document(str(path), path.read_bytes())
    chunks = _chunks(loaded)
    tables = [chunk for chunk in chunks if HEADER_LINE in chunk.text]
    _assert_rows_under_heading(tables, f"Тарифы на услуги связи\n{HEADER_LINE}")
    assert {chunk.place for chunk in tables} == {("page", 1)}
    assert chunks[-1].text == "Условия расторжения договора на второй странице."
    assert chunks[-1].place == ("page", 2)


def test_docx_pages_follow_words_last_layout_when_it_recorded_one(tmp_path) -> None:
    from docx.oxml import OxmlElement

    document = docx.Document()
    for text in ("Первая страница.", "Вторая страница.", "Третья страница."):
        document.add_paragraph(text)
    paragraphs = document.paragraphs
    for paragraph in paragraphs[1:]:  # Word marks where each page began as it laid them out
        run = OxmlElement("w:r")
        run.append(OxmlElement("w:lastRenderedPageBreak"))
        paragraph._p.insert(0, run)
    paragraphs[0].runs[0].add_break(docx.enum.text.WD_BREAK.PAGE)  # counted once, not twice
    path = tmp_path / "laid-out.docx"
    document.save(str(path))
    chunks = _chunks(load_document(str(path), path.read_bytes()))
    assert [(c.text, c.place) for c in chunks] == [
        ("Первая страница.", ("page", 1)),
        ("Вторая страница.", ("page", 2)),
        ("Третья страница.", ("page", 3)),
    ]


def test_html_tables_repeat_their_caption_heading_and_header() -> None:
    rows = "".join(f"<tr><td>{'</td><td>'.join(row)}</td></tr>" for row in od.TARIFFS)
    page = (
        "<html><body><h2>Тарифы для дома</h2><p>Цены с НДС.</p><table><caption>Интернет"
        f"</caption><tr><th>{'</th><th>'.join(od.TARIFF_HEADER)}</th></tr>{rows}</table>"
        "<p>После таблицы.</p></body></html>"
    ).encode()
    document = load_document("tariffs.html", page)
    assert document.text.startswith("Тарифы для дома\n\nЦены с НДС.\n\nИнтернет\n\n")
    assert document.text.endswith("\n\nПосле таблицы.")
    tables = [chunk for chunk in _chunks(document) if HEADER_LINE in chunk.text]
    _assert_rows_under_heading(tables, f"Тарифы для дома\nИнтернет\n{HEADER_LINE}")


def test_a_row_longer_than_the_limit_is_split_under_the_heading() -> None:
    long = ["Оптимум", " ".join(["очень"] * 60), "300 Мбит/с", "нет"]
    data = od.xlsx({"Тарифы": [od.TARIFF_HEADER, long]})
    chunks = _chunks(load_document("t.xlsx", data), max_tokens=30)
    assert len(chunks) > 2
    assert all(chunk.text.startswith(f"Тарифы\n{HEADER_LINE}\n") for chunk in chunks)
    assert all(count_words(chunk.text) <= 30 for chunk in chunks)


@pytest.mark.parametrize(
    ("fmt", "data"),
    [
        ("xlsx", lambda: od.xlsx({"Лист": CONTACTS})),
        ("pptx", lambda: od.pptx(SLIDES)),
        ("odt", lambda: od.odt("Заголовок", ["Текст."], "Подпись", CONTACTS)),
        ("ods", lambda: od.ods({"Лист": CONTACTS})),
        ("rtf", lambda: od.rtf(["Договор."])),
        ("eml", lambda: od.eml("Тема", "Текст письма.", {})),
    ],
)
def test_content_picks_the_parser_whatever_the_extension(fmt, data) -> None:
    content = data()
    for name in (f"file.{fmt}", "file.bin", "s3://bucket/object"):
        assert detect_format(name, content) == fmt
    # a binary signature outranks the extension; mail headers are text a .txt may hold
    misnamed = "file.txt" if fmt != "eml" else "file.dat"
    assert load_document(misnamed, content).meta["format"] == fmt


def test_legacy_word_keeps_its_russian_paragraphs() -> None:
    data = od.word97(["Договор поставки № 17.", "Поставщик обязуется передать товар в срок."])
    assert detect_format("contract.bin", data) == "doc"
    document = load_document("contract.doc", data)
    assert document.text == "Договор поставки № 17.\n\nПоставщик обязуется передать товар в срок."


def test_a_corrupt_legacy_word_file_is_reported_with_the_reason() -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)
    assert detect_format("letter.doc", ole) == "doc"
    with pytest.raises(LoaderError, match="corrupt DOC"):
        load_document("letter.doc", ole)


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "marker"),
    [("bomb.xlsx", "xl/workbook.xml"), ("bomb.pptx", "ppt/presentation.xml")],
)
def test_spreadsheet_and_slide_packages_are_bounded_like_docx(name, marker) -> None:
    bomb = _zip({marker: b"<a/>", "filler.xml": b"<a>" + b" " * 5_000_000 + b"</a>"})
    with pytest.raises(LimitExceededError, match="max_unzipped_bytes=1000000"):
        load_document(name, bomb, HOSTILE_LIMITS)
    deep = _zip({marker: b"<a>" * 100 + b"</a>" * 100})
    with pytest.raises(LimitExceededError, match="max_markup_depth=64"):
        load_document(name, deep, HOSTILE_LIMITS)


def test_deep_rtf_and_opendocument_are_refused_at_the_depth_limit() -> None:
    with pytest.raises(LimitExceededError, match="RTF group depth: 201"):
        load_document("deep.rtf", b"{\\rtf1" + b"{" * 200 + b"x" + b"}" * 201, HOSTILE_LIMITS)
    with zipfile.ZipFile(io.BytesIO(od.odt("Заголовок", [], "Подпись", CONTACTS))) as archive:
        content = archive.read("content.xml").decode()
    nested = "<text:span>" * 100 + "глубоко" + "</text:span>" * 100
    content = content.replace("<text:p>Подпись</text:p>", f"<text:p>{nested}</text:p>")
    with pytest.raises(LimitExceededError, match="max_markup_depth=64"):
        load_document("deep.odt", _zip({"content.xml": content.encode()}), HOSTILE_LIMITS)
