import codecs
import io
import random
import zipfile

import pytest
from pypdf import PdfReader, PdfWriter

from ruai.ingest.documents import content_hash_of
from ruai.loaders import LoaderError, detect_format, load_document

RUSSIAN = "Москва является столицей России. В городе много музеев и парков."
SECOND = "Второй абзац рассказывает о погоде: летом тепло, зимой холодно."

HTML_PAGE = """<!DOCTYPE html>
<html><head>{meta}<title>Новости  дня</title>
<style>p {{ color: red }}</style><script>var skipped = "скрипт";</script></head>
<body><!-- скрытый комментарий --><nav>Меню сайта</nav>
<h1>Главная новость</h1>
<p>Москва является столицей
   России. В городе много <b>музеев</b> и парков.</p>
<div>Второй абзац.<br>Его вторая строка.</div>
<ul><li>пункт один</li><li>пункт два</li></ul>
<footer>Подвал сайта</footer></body></html>"""
HTML_TEXT = (
    "Главная новость\n\n"
    "Москва является столицей России. В городе много музеев и парков.\n\n"
    "Второй абзац. Его вторая строка.\n\n"
    "пункт один пункт два"
)

MARKDOWN = """# Заголовок **документа**

Текст со [ссылкой](https://example.ru/page) и ![схема](img/scheme.png) картинкой,
*курсивом* и `кодом`.

Подзаголовок
------------

- пункт один
- пункт два

```python
print("привет")
```

> цитата из книги

[ref]: https://example.ru
"""
MARKDOWN_TEXT = (
    "Заголовок документа\n\n"
    "Текст со ссылкой и картинкой, курсивом и кодом.\n\n"
    "Подзаголовок\n\n"
    "пункт один пункт два\n\n"
    'print("привет")\n\n'
    "цитата из книги"
)


def _load(path):
    return load_document(str(path), path.read_bytes())


# --- plain text -------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "cp1251", "koi8-r", "cp866", "iso-8859-5"])
def test_txt_in_every_encoding(tmp_path, encoding):
    data = f"{RUSSIAN}\n\n{SECOND}\n".encode(encoding)
    path = tmp_path / "note.txt"
    path.write_bytes(data)
    doc = _load(path)
    assert doc.text == f"{RUSSIAN}\n\n{SECOND}"
    assert doc.source == str(path)
    assert doc.title == RUSSIAN
    assert doc.content_hash == content_hash_of(data)
    assert codecs.lookup(doc.meta["encoding"]).name == codecs.lookup(encoding).name
    assert doc.meta == {
        "format": "txt",
        "encoding": doc.meta["encoding"],
        "language": "ru",
        "chars": len(doc.text),
    }


def test_english_text_is_language_other():
    doc = load_document("notes/readme.txt", b"Plain English notes.\n\nSecond paragraph.")
    assert doc.meta["language"] == "other"
    assert doc.meta["encoding"] == "ascii"
    assert doc.title == "Plain English notes."


def test_title_is_truncated_first_line():
    line = "слово " * 40
    doc = load_document("long.txt", f"{line}\n\nещё".encode())
    assert doc.title == line.strip()[:120].rstrip()


@pytest.mark.parametrize("name", ["Глава #1.md", "FAQ?.md", "C#.html", "a?b#c.html"])
def test_question_marks_and_hashes_in_a_file_name_keep_its_extension(tmp_path, name):
    path = tmp_path / name
    if name.endswith(".md"):
        path.write_text(MARKDOWN, encoding="utf-8")
        assert _load(path).text == MARKDOWN_TEXT
    else:
        # no <!DOCTYPE>/<html> at the start: only the extension says HTML
        path.write_text("<p>Привет</p><script>var x = 1</script>", encoding="utf-8")
        assert _load(path).text == "Привет"


def test_a_urls_query_and_fragment_are_not_its_extension():
    url = "https://example.ru/docs/page.md?version=2#part"
    assert load_document(url, MARKDOWN.encode()).meta["format"] == "markdown"
    assert load_document("https://example.ru/a.txt?x=page.md", b"# x").meta["format"] == "txt"


# --- markdown ---------------------------------------------------------------------------------


def test_markdown(tmp_path):
    path = tmp_path / "doc.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    doc = _load(path)
    assert doc.text == MARKDOWN_TEXT
    assert doc.title == "Заголовок документа"
    assert doc.meta["format"] == "markdown"


def test_markdown_front_matter_title_and_cp1251(tmp_path):
    path = tmp_path / "post.markdown"
    path.write_bytes(
        '---\ntitle: "Пост"\ndate: 2024\n---\n# Другое\n\nТекст поста.'.encode("cp1251")
    )
    doc = _load(path)
    assert (doc.title, doc.text, doc.meta["encoding"]) == (
        "Пост",
        "Другое\n\nТекст поста.",
        "cp1251",
    )


# --- html -------------------------------------------------------------------------------------


def test_html_cp1251_with_declared_charset(tmp_path):
    path = tmp_path / "page.html"
    path.write_bytes(HTML_PAGE.format(meta='<meta charset="windows-1251">').encode("cp1251"))
    doc = _load(path)
    assert doc.text == HTML_TEXT
    assert doc.title == "Новости дня"
    assert doc.meta["format"] == "html"
    assert doc.meta["encoding"] == "cp1251"


def test_html_cp1251_with_http_equiv_charset(tmp_path):
    meta = '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
    path = tmp_path / "page.htm"
    path.write_bytes(HTML_PAGE.format(meta=meta).encode("cp1251"))
    assert _load(path).text == HTML_TEXT


def test_html_cp1251_without_charset(tmp_path):
    path = tmp_path / "page.html"
    path.write_bytes(HTML_PAGE.format(meta="").encode("cp1251"))
    doc = _load(path)
    assert doc.text == HTML_TEXT
    assert doc.meta["encoding"] == "cp1251"


def test_html_title_falls_back_to_h1():
    doc = load_document(
        "a.html", "<html><body><h1>Заголовок</h1><p>Текст.</p></body></html>".encode()
    )
    assert doc.title == "Заголовок"


def test_html_wrong_declared_charset_falls_back_to_detection():
    page = '<html><head><meta charset="utf-8"></head><body><p>Привет, мир!</p></body></html>'
    doc = load_document("a.html", page.encode("cp1251"))
    assert (doc.text, doc.meta["encoding"]) == ("Привет, мир!", "cp1251")


# --- pdf --------------------------------------------------------------------------------------


def test_pdf_pages_and_paragraphs(make_pdf):
    long_paragraph = " ".join([RUSSIAN] * 6)
    path = make_pdf([[long_paragraph, SECOND], ["Третья страница."]], title="Отчёт о работе")
    doc = _load(path)
    assert doc.text == f"{long_paragraph}\n\n{SECOND}\n\nТретья страница."
    assert doc.title == "Отчёт о работе"
    assert doc.meta == {"format": "pdf", "language": "ru", "chars": len(doc.text)}


def test_pdf_without_title_uses_first_line(make_pdf):
    first = " ".join([RUSSIAN] * 3)
    doc = _load(make_pdf([[first, SECOND]], title=""))
    assert doc.text == f"{first}\n\n{SECOND}"
    assert doc.title == first[:120].rstrip()


def test_pdf_with_empty_user_password_opens(make_pdf, tmp_path):
    path = _encrypted(make_pdf([[RUSSIAN]]), tmp_path, user_password="")
    assert _load(path).text == RUSSIAN


def test_encrypted_pdf(make_pdf, tmp_path):
    path = _encrypted(make_pdf([[RUSSIAN]]), tmp_path, user_password="secret")
    with pytest.raises(LoaderError, match="^encrypted PDF"):
        _load(path)


def test_truncated_pdf(make_pdf):
    data = make_pdf([[RUSSIAN]]).read_bytes()
    with pytest.raises(LoaderError, match="^corrupt PDF: "):
        load_document("cut.pdf", data[: len(data) // 2])


def test_random_bytes_named_pdf():
    with pytest.raises(LoaderError, match="^corrupt PDF: "):
        load_document("fake.pdf", random.Random(0).randbytes(3000))


def test_pdf_without_text_layer(cyrillic_font, tmp_path):
    from reportlab.pdfgen import canvas

    path = tmp_path / "blank.pdf"
    pdf = canvas.Canvas(str(path))
    pdf.rect(100, 100, 200, 200)
    pdf.showPage()
    pdf.save()
    with pytest.raises(LoaderError, match="^no text extracted$"):
        _load(path)


def _encrypted(path, tmp_path, user_password):
    writer = PdfWriter(clone_from=PdfReader(path))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    out = tmp_path / "encrypted.pdf"
    with out.open("wb") as handle:
        writer.write(handle)
    return out


# --- docx -------------------------------------------------------------------------------------


def test_docx_paragraphs_and_table(make_docx):
    path = make_docx(
        [RUSSIAN, SECOND],
        table=[["Город", "Население"], ["Казань", "1,3 млн"]],
        after=("После таблицы.",),
        title="Справка",
    )
    doc = _load(path)
    assert doc.text == (
        f"{RUSSIAN}\n\n{SECOND}\n\nГород | Население\n\nКазань | 1,3 млн\n\nПосле таблицы."
    )
    assert doc.title == "Справка"
    assert doc.meta == {"format": "docx", "language": "ru", "chars": len(doc.text)}


def test_docx_without_title_uses_first_line(make_docx):
    assert _load(make_docx(["Первый абзац.", "Второй."])).title == "Первый абзац."


def test_docx_that_is_not_a_zip():
    with pytest.raises(LoaderError, match="^corrupt DOCX: not a ZIP archive"):
        load_document("report.docx", "просто текст".encode())


def test_zip_without_document_xml():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "нет документа")
    with pytest.raises(LoaderError, match="^corrupt DOCX: .*word/document.xml"):
        load_document("report.docx", buffer.getvalue())


def test_truncated_docx(make_docx):
    data = make_docx([RUSSIAN]).read_bytes()
    with pytest.raises(LoaderError, match="^corrupt DOCX: "):
        load_document("cut.docx", data[: len(data) // 2])


def test_docx_with_broken_xml(make_docx):
    source = make_docx([RUSSIAN]).read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as original, zipfile.ZipFile(buffer, "w") as broken:
        for item in original.infolist():
            data = original.read(item)
            broken.writestr(item, data[:100] if item.filename == "word/document.xml" else data)
    with pytest.raises(LoaderError, match="^corrupt DOCX: "):
        load_document("broken.docx", buffer.getvalue())


# --- failures and sniffing --------------------------------------------------------------------


def test_zero_bytes():
    with pytest.raises(LoaderError, match="^empty file$"):
        load_document("empty.txt", b"")


def test_binary_junk_txt():
    with pytest.raises(LoaderError, match="^binary or undecodable content: "):
        load_document("junk.txt", random.Random(1).randbytes(5000))


def test_whitespace_only_has_no_text():
    with pytest.raises(LoaderError, match="^no text extracted$"):
        load_document("blank.txt", b" \n\n\t \r\n")


def test_html_without_visible_text():
    with pytest.raises(LoaderError, match="^no text extracted$"):
        load_document("x.html", b"<html><head><script>var a;</script></head><body></body></html>")


def test_loader_error_is_a_value_error():
    assert issubclass(LoaderError, ValueError)


def test_sniffing_without_extension(make_pdf, make_docx):
    pdf = make_pdf([[RUSSIAN]]).read_bytes()
    docx = make_docx([RUSSIAN]).read_bytes()
    assert detect_format("s3://bucket/object", pdf) == "pdf"
    assert detect_format("s3://bucket/object", docx) == "docx"
    assert detect_format("noext", b"<!DOCTYPE html><html><body>x</body></html>") == "html"
    assert detect_format("noext", RUSSIAN.encode("koi8-r")) == "txt"
    assert detect_format("dir/FILE.PDF", b"anything") == "pdf"
    assert load_document("blob-1", pdf).meta["format"] == "pdf"
    assert load_document("blob-2", docx).text == RUSSIAN
    assert load_document("blob-3", RUSSIAN.encode("koi8-r")).meta["encoding"] == "koi8-r"


def test_one_bad_document_does_not_affect_the_next(make_docx):
    good = make_docx([RUSSIAN]).read_bytes()
    with pytest.raises(LoaderError):
        load_document("bad.docx", good[:200])
    assert load_document("good.docx", good).text == RUSSIAN
