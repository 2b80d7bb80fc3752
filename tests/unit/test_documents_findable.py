"""Scans, slides, sheets and tables ingested by the real stages (parse and OCR in the killable
child, BM25, navec, the Edge shard; no Ray) and found by the one search path that
``jobs.search`` uses: a phrase of each scanned page, slide and sheet at rank 1 with its place in
the API's citation; questions about table cells answered by the chunk holding the header and
the row; an e-mail's attachments as documents of their own, linked to the mail; a second run
over the same files writes nothing."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pytest

from pipelines.ingest import _count_outcomes
from pipelines.ingest_stages import EmbedStep, WriteStep
from pipelines.report import IngestReport
from ruai.llm.passages import passages_from_hits
from ruai.retrieval import Searcher
from ruai.settings import Settings
from tests.support import office_documents as od
from tests.support.chunk_stage import chunk_files
from tests.support.scanned_pages import image_pdf, render_page

TENANT = "default"
# (file, place, text of that page/slide/sheet, the phrase searched for)
SCANNED = {
    ("scan.pdf", ("page", 1)): [
        "Договор аренды нежилого помещения под размещение узла связи в Самаре.",
        "Арендная плата вносится ежемесячно не позднее десятого числа.",
    ],
    ("scan.pdf", ("page", 2)): [
        "Приказ о назначении ответственного за пожарную безопасность на складе.",
        "Ответственным назначается начальник смены Петров Иван Сергеевич.",
    ],
    ("scan.png", ("page", 1)): [
        "Акт приёмки волоконно-оптической линии между Казанью и Набережными Челнами.",
        "Затухание на всех волокнах соответствует проекту.",
    ],
}
TYPED_PAGES = [
    ["Пояснительная записка к схеме сети описывает кольцевую топологию ядра."],
    ["Резервирование каналов выполнено через спутниковый шлюз в Оренбурге."],
]
SLIDES = [
    {"title": "Итоги квартала", "body": ["Абонентская база выросла до миллиона клиентов."]},
    {"title": "Стратегия", "body": ["Строительство дата-центра в Иннополисе начнётся весной."]},
]
CONTACTS = [["Отдел", "Телефон"], ["Служба эксплуатации магистральной сети", "8-800-555-01-02"]]
TERMS = [["Работа", "Срок"], ["Подключение", "3 дня"], ["Ремонт линии", "1 день"]]
PRICES = [["Услуга", "Цена, руб."], ["Настройка роутера у абонента", "500"]]
HEADER_LINE = " | ".join(od.TARIFF_HEADER)
ACT = ["Акт сверки взаиморасчётов с подрядчиком из Саратова за третий квартал."]


def _typed_pdf(font: str, pages: list[list[str]]) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4)
    for lines in pages:
        canvas.setFont(font, 11)
        for number, line in enumerate(lines):
            canvas.drawString(60, 780 - 16 * number, line)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _corpus(directory: Path, font: str) -> list[Path]:
    png = io.BytesIO()
    render_page(SCANNED["scan.png", ("page", 1)], dpi=200).save(png, "PNG", dpi=(200, 200))
    scans = [
        render_page(SCANNED["scan.pdf", ("page", 1)], dpi=200),
        render_page(SCANNED["scan.pdf", ("page", 2)], dpi=150, rotate=2, noise=0.02),
    ]
    files = {
        "scan.pdf": image_pdf(scans),
        "scan.png": png.getvalue(),
        "typed.pdf": _typed_pdf(font, TYPED_PAGES),
        "deck.pptx": od.pptx(SLIDES),
        "tariffs.xlsx": od.xlsx({"Тарифы": od.tariff_rows(), "Контакты": CONTACTS}),
        "contract.odt": od.odt(
            "Договор", ["Оператор предоставляет доступ к сети."], "Сроки", TERMS
        ),
        "contract.rtf": od.rtf(["Договор подряда на монтаж базовой станции в Тольятти."]),
        "order.doc": od.word97(["Распоряжение о переносе серверной в здание на улице Гагарина."]),
        "terms.ods": od.ods({"Сроки": TERMS}),
        "letter.eml": od.eml(
            "Схема сети",
            "Направляю схему резервирования.",
            {"прайс.ods": od.ods({"Цены": PRICES}), "акт.pdf": _typed_pdf(font, [ACT])},
        ),
        "about.txt": (
            "Тарифы компании пересматриваются раз в год. Стоимость и скорость тарифа зависят "
            "от региона. Цены на тарифы указаны в рублях в месяц."
        ).encode(),
    }
    paths = []
    for name, data in files.items():
        path = directory / name
        path.write_bytes(data)
        paths.append(path)
    return paths


class _Ingest:
    """The ingestion stages as an actor runs them, on one Edge shard, without Ray."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.write = WriteStep(settings, TENANT, settings.collection)
        self.embed = EmbedStep(settings)
        self.write.store.ensure_collection(settings.collection, self.embed.encoder.dim)

    def run(self, files: list[Path]) -> dict[str, dict]:
        states = self.write.store.doc_states(self.settings.collection, TENANT)
        known = {doc_id: (s.content_hash, s.marker, s.access) for doc_id, s in states.items()}
        table = chunk_files(self.settings, TENANT, known, files)
        rows = self.write(self.embed(table)).to_pylist()
        return {Path(row["source"]).name: row for row in rows}


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory, cyrillic_font: str):
    root = tmp_path_factory.mktemp("documents")
    (root / "corpus").mkdir()
    files = _corpus(root / "corpus", cyrillic_font)
    settings = Settings(
        qdrant_path=root / "qdrant",
        collection="docs",
        tenant=TENANT,
        dense_model="navec",
        extract_entities=False,
        chunk_max_tokens=48,  # the tariff table spans several chunks
    )
    ingest = _Ingest(settings)
    rows = ingest.run(files)
    searcher = Searcher.from_settings(settings, store=ingest.write.store)
    yield ingest, files, rows, searcher
    ingest.write.store.close()


def _top(searcher: Searcher, query: str) -> dict:
    """The first source as the API lists it, with the chunk's whole text."""
    hits = searcher.search(query, collection="docs", tenant=TENANT, top_k=5)
    passage = passages_from_hits(hits)[0]
    return passage.citation() | {"text": passage.text}


def test_every_document_is_written_and_the_ocr_is_reported(ingested) -> None:
    _, _, rows, _ = ingested
    assert {name: row["outcome"] for name, row in rows.items()} == dict.fromkeys(rows, "ok")
    report = IngestReport("docs", "corpus", TENANT)
    _count_outcomes(report, pa.Table.from_pylist(list(rows.values())))
    assert report.documents_attachments == 2
    assert {Path(item["source"]).name: item["pages"] for item in report.documents_ocr} == {
        "scan.pdf": 2,
        "scan.png": 1,
    }


@pytest.mark.parametrize(("file", "place"), list(SCANNED))
def test_a_phrase_of_each_scanned_page_is_found_first_with_its_page(ingested, file, place):
    _, _, _, searcher = ingested
    top = _top(searcher, SCANNED[file, place][0])
    assert (Path(top["source"]).name, top.get(place[0])) == (file, place[1])


def test_typed_pages_slides_and_sheets_are_found_first_with_their_place(ingested) -> None:
    _, _, _, searcher = ingested
    expected = [
        (TYPED_PAGES[0][0], "typed.pdf", "page", 1),
        (TYPED_PAGES[1][0], "typed.pdf", "page", 2),
        (SLIDES[0]["body"][0], "deck.pptx", "slide", 1),
        (SLIDES[1]["body"][0], "deck.pptx", "slide", 2),
        ("Телефон службы эксплуатации магистральной сети", "tariffs.xlsx", "sheet", "Контакты"),
        ("Схема резервирования сети", "letter.eml", None, None),
        ("Сколько стоит настройка роутера?", "letter.eml#прайс.ods", "sheet", "Цены"),
        ("акт сверки с подрядчиком из Саратова", "letter.eml#акт.pdf", "page", 1),
        ("монтаж базовой станции в Тольятти", "contract.rtf", None, None),
        ("перенос серверной на улицу Гагарина", "order.doc", None, None),
    ]
    for query, file, kind, value in expected:
        top = _top(searcher, query)
        assert Path(top["source"]).name == file, query
        if kind is not None:
            assert top[kind] == value, query
        if "#" in file:  # an attachment: its own document, linked to the mail
            mail, attachment = file.split("#")
            assert (Path(top["parent_source"]).name, top["attachment"]) == (mail, attachment)


def test_table_cell_questions_find_the_chunk_with_header_and_row(ingested) -> None:
    _, _, _, searcher = ingested
    hits = searcher.search("Тарифы Тариф", collection="docs", tenant=TENANT, top_k=50)
    assert sum(hit.payload.get("sheet") == "Тарифы" for hit in hits) >= 3  # split, by rows
    found = 0
    for question, tariff in od.TARIFF_QUESTIONS:
        top = _top(searcher, question)
        lines = top["text"].split("\n")
        row = next(" | ".join(r) for r in od.TARIFFS if r[0] == tariff)
        found += HEADER_LINE in lines and row in lines
    assert found >= 9


def test_a_second_run_over_the_same_files_writes_nothing(ingested) -> None:
    ingest, files, _, _ = ingested
    store = ingest.write.store
    before = store.count("docs", TENANT)
    rows = ingest.run(files)
    assert {row["outcome"] for row in rows.values()} == {"unchanged"}
    assert sum(row["chunks"] for row in rows.values()) == 0
    assert store.count("docs", TENANT) == before
