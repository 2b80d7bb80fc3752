"""Documents of the formats an operator's departments keep, built by libraries (openpyxl,
python-pptx, python-docx, the email package) or written out by hand where the format is plain
XML or markup (ODT, ODS, RTF) or no library writes it (Word 97 .doc): the tests' corpus for
loaders, tables, places and findability."""

from __future__ import annotations

import io
import struct
import zipfile
from email.message import EmailMessage
from xml.sax.saxutils import escape

TARIFF_HEADER = ["Тариф", "Стоимость, руб. в месяц", "Скорость", "Телевидение"]
# name, price, speed, channels: each row a fact a question asks about
TARIFFS = [
    ("Базовый", "450", "100 Мбит/с", "нет"),
    ("Оптимум", "700", "300 Мбит/с", "120 каналов"),
    ("Максимум", "1200", "1000 Мбит/с", "250 каналов"),
    ("Старт", "350", "50 Мбит/с", "нет"),
    ("Семейный", "900", "500 Мбит/с", "180 каналов"),
    ("Турбо", "1050", "800 Мбит/с", "нет"),
    ("Премиум", "1500", "1000 Мбит/с", "300 каналов"),
    ("Эконом", "300", "30 Мбит/с", "нет"),
    ("Ночной", "250", "200 Мбит/с ночью", "нет"),
    ("Студенческий", "400", "150 Мбит/с", "60 каналов"),
]
TARIFF_QUESTIONS = [
    ("Сколько стоит тариф Оптимум?", "Оптимум"),
    ("Какая скорость у тарифа Максимум?", "Максимум"),
    ("Сколько стоит тариф Базовый в месяц?", "Базовый"),
    ("Какая скорость у тарифа Старт?", "Старт"),
    ("Сколько каналов телевидения в тарифе Семейный?", "Семейный"),
    ("Какая стоимость тарифа Турбо?", "Турбо"),
    ("Сколько стоит Премиум?", "Премиум"),
    ("Какая скорость интернета в тарифе Эконом?", "Эконом"),
    ("Какая скорость у тарифа Ночной?", "Ночной"),
    ("Сколько стоит тариф Студенческий?", "Студенческий"),
]


def tariff_rows() -> list[list[str]]:
    return [TARIFF_HEADER, *[list(row) for row in TARIFFS]]


def xlsx(sheets: dict[str, list[list[object]]], title: str = "") -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.properties.title = title
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def pptx(slides: list[dict]) -> bytes:
    """``slides``: {"title", "body": [paragraphs], "notes", "table": rows} each."""
    from pptx import Presentation
    from pptx.util import Inches

    presentation = Presentation()
    layout = presentation.slide_layouts[1]  # title and content
    for spec in slides:
        slide = presentation.slides.add_slide(layout)
        slide.shapes.title.text = spec["title"]
        body = slide.placeholders[1].text_frame
        body.text = spec["body"][0]
        for paragraph in spec["body"][1:]:
            body.add_paragraph().text = paragraph
        if spec.get("table"):
            rows = spec["table"]
            shape = slide.shapes.add_table(
                len(rows), len(rows[0]), Inches(0.5), Inches(4), Inches(9), Inches(2)
            )
            for r, row in enumerate(rows):
                for c, text in enumerate(row):
                    shape.table.cell(r, c).text = text
        if spec.get("notes"):
            slide.notes_slide.notes_text_frame.text = spec["notes"]
    buffer = io.BytesIO()
    presentation.save(buffer)
    return buffer.getvalue()


_ODF_NAMESPACES = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" office:version="1.3"'
)


def _odf(mimetype: str, body: str) -> bytes:
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODF_NAMESPACES}>'
        f"<office:body>{body}</office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
        '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">'
        f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{mimetype}"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), mimetype)  # stored first, uncompressed
        archive.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _odf_table(name: str, rows: list[list[str]]) -> str:
    cells = "".join(
        "<table:table-row>"
        + "".join(
            f'<table:table-cell office:value-type="string"><text:p>{escape(c)}</text:p>'
            "</table:table-cell>"
            for c in row
        )
        + '<table:table-cell table:number-columns-repeated="1000"/></table:table-row>'
        for row in rows
    )
    padding = (
        '<table:table-row table:number-rows-repeated="1048000"><table:table-cell/>'
        "</table:table-row>"
    )
    return f'<table:table table:name="{escape(name)}">{cells}{padding}</table:table>'


def odt(heading: str, paragraphs: list[str], caption: str, table: list[list[str]]) -> bytes:
    body = f'<text:h text:outline-level="1">{escape(heading)}</text:h>'
    body += "".join(f"<text:p>{escape(p)}</text:p>" for p in paragraphs)
    body += f"<text:p>{escape(caption)}</text:p>" + _odf_table("Таблица1", table)
    return _odf("application/vnd.oasis.opendocument.text", f"<office:text>{body}</office:text>")


def ods(sheets: dict[str, list[list[str]]]) -> bytes:
    body = "".join(_odf_table(name, rows) for name, rows in sheets.items())
    return _odf(
        "application/vnd.oasis.opendocument.spreadsheet",
        f"<office:spreadsheet>{body}</office:spreadsheet>",
    )


def rtf(paragraphs: list[str]) -> bytes:
    """RTF as Russian Word saves it: code page 1251, each letter a \\'xx escape."""

    def escaped(text: str) -> str:
        return "".join(
            f"\\'{byte:02x}" if byte > 127 else chr(byte) for byte in text.encode("cp1251")
        )

    body = "".join(f"{{\\pard {escaped(p)}\\par}}\n" for p in paragraphs)
    return (
        "{\\rtf1\\ansi\\ansicpg1251\\deff0{\\fonttbl{\\f0\\fswiss\\fcharset204 Arial;}}\n"
        f"\\f0\\fs24\n{body}}}"
    ).encode("ascii")


def eml(subject: str, body: str, attachments: dict[str, bytes], charset: str = "koi8-r") -> bytes:
    message = EmailMessage()
    message["From"] = "Отдел продаж <sales@example.ru>"
    message["To"] = "Абонентский отдел <abon@example.ru>"
    message["Subject"] = subject
    message["Date"] = "Fri, 04 Dec 2026 10:00:00 +0300"
    message.set_content(body, charset=charset, cte="base64")
    message.add_alternative(f"<html><body><p>{escape(body)}</p></body></html>", subtype="html")
    for name, data in attachments.items():
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return message.as_bytes()


_SECTOR = 512
_END_OF_CHAIN, _FREE, _FAT_SECTOR, _NO_STREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
_MINI_CUTOFF = 4096


def _compound_file(streams: dict[str, bytes]) -> bytes:
    """An OLE2 compound file holding ``streams``, each padded past the mini-stream cut-off so
    that every stream lives in regular 512-byte sectors (no mini FAT needed)."""
    bodies = {name: data.ljust(_MINI_CUTOFF, b"\0") for name, data in streams.items()}
    sectors, fat, starts = [], [], {}
    for name, body in bodies.items():
        padded = body.ljust(-(-len(body) // _SECTOR) * _SECTOR, b"\0")
        count = len(padded) // _SECTOR
        starts[name] = len(fat)
        fat += [len(fat) + i + 1 for i in range(count - 1)] + [_END_OF_CHAIN]
        sectors.append(padded)
    directory_sector = len(fat)
    fat.append(_END_OF_CHAIN)
    per_sector = _SECTOR // 4
    fat_sectors = -(-(len(fat) + 1) // per_sector)
    first_fat = len(fat)
    fat += [_FAT_SECTOR] * fat_sectors
    fat += [_FREE] * (fat_sectors * per_sector - len(fat))

    def entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
        encoded = (name + "\0").encode("utf-16-le")
        return (
            encoded.ljust(64, b"\0")
            + struct.pack("<HBB", len(encoded), kind, 1)
            + struct.pack("<III", _NO_STREAM, right, child)
            + bytes(36)
            + struct.pack("<IQ", start, size)
        )

    names = list(bodies)
    directory = entry("Root Entry", 5, 1, _NO_STREAM, _END_OF_CHAIN, 0)
    for number, name in enumerate(names, 1):
        right = number + 1 if number < len(names) else _NO_STREAM
        directory += entry(name, 2, _NO_STREAM, right, starts[name], len(bodies[name]))
    difat = [first_fat + i for i in range(fat_sectors)] + [_FREE] * (109 - fat_sectors)
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + bytes(16)
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + bytes(6)
        + struct.pack(
            "<9I",
            0,
            fat_sectors,
            directory_sector,
            0,
            _MINI_CUTOFF,
            _END_OF_CHAIN,
            0,
            _END_OF_CHAIN,
            0,
        )  # fmt: skip
        + struct.pack("<109I", *difat)
    )
    return (
        header
        + b"".join(sectors)
        + directory.ljust(_SECTOR, b"\0")
        + struct.pack(f"<{len(fat)}I", *fat)
    )


def word97(paragraphs: list[str]) -> bytes:
    """A Word 97-2003 .doc as [MS-DOC] lays it out: a FIB, the text as one UTF-16 piece of the
    WordDocument stream, its piece table (Clx) in the 1Table stream."""
    text = "".join(paragraph + "\r" for paragraph in paragraphs)
    encoded = text.encode("utf-16-le")
    text_at = 0x800
    pieces = struct.pack("<II", 0, len(text)) + struct.pack("<HIH", 0, text_at, 0)
    clx = b"\x02" + struct.pack("<I", len(pieces)) + pieces
    flags = 0x1000 | 0x0200  # fExtChar, fWhichTblStm: 1Table
    base = struct.pack(
        "<7HI2B2H2I", 0xA5EC, 0x00C1, 0, 0x0419, 0, flags, 0x00BF, 0, 0, 0, 0, 0,
        text_at, text_at + len(encoded),
    )  # fmt: skip
    longs = [0] * 22
    longs[0], longs[3] = text_at + len(encoded), len(text)  # cbMac, ccpText
    places = [0] * (93 * 2)
    places[33 * 2 + 1] = len(clx)  # fcClx = 0, lcbClx in the table stream
    fib = (
        base
        + struct.pack("<H", 14) + bytes(28)
        + struct.pack("<H22I", 22, *longs)
        + struct.pack(f"<H{93 * 2}I", 93, *places)
        + struct.pack("<H", 0)
    )  # fmt: skip
    return _compound_file({"WordDocument": fib.ljust(text_at, b"\0") + encoded, "1Table": clx})


def xls(sheets: dict[str, list[list[object]]]) -> bytes:
    """An Excel 97-2003 workbook (xlwt)."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    for name, rows in sheets.items():
        sheet = book.add_sheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                sheet.write(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
