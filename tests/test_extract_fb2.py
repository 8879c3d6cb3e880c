"""FB2 and .fb2.zip: nested sections with titles, title-info metadata, notes, encodings."""

from __future__ import annotations

import pytest

from services.ingestion.detect import BookFormat
from services.ingestion.errors import ErrorCode, IngestionError
from services.ingestion.extract import extract
from tests.extract_factories import BILLION_LAUGHS, make_fb2, make_zip, read_file, zip_bomb

SECTIONS = [
    (
        "Глава первая",
        ["Мой отец Андрей Петрович Гринев в молодости своей служил при графе Минихе.", "Второй абзац."],
    ),
    ("Глава вторая", ["Я приехал в Оренбург прямо к генералу."]),
]


def _error(data: bytes, name: str = "book.fb2") -> IngestionError:
    with pytest.raises(IngestionError) as caught:
        extract(data, name)
    return caught.value


def test_sections_metadata_and_notes() -> None:
    book = extract(make_fb2(SECTIONS, notes=["Примечание к тексту."]), "book.fb2")
    assert book.format is BookFormat.FB2
    assert (book.title, book.author, book.language) == ("Книга", "Иван Петров", "ru")
    assert [(s.chapter, s.level) for s in book.sections] == [
        ("Глава первая", 1),
        ("Глава вторая", 1),
        ("notes", 1),
    ]
    assert book.sections[0].text.split("\n\n") == ["Глава первая", SECTIONS[0][1][0], "Второй абзац."]
    assert "AAAA" not in book.text  # binaries are not text


@pytest.mark.parametrize("encoding", ["windows-1251", "koi8-r", "utf-16"])
def test_declared_encodings(encoding: str) -> None:
    book = extract(make_fb2(SECTIONS, encoding=encoding), "book.fb2")
    assert book.sections[1].text.endswith("Я приехал в Оренбург прямо к генералу.")


def test_undeclared_cp1251_is_decoded() -> None:
    data = make_fb2(SECTIONS, encoding="cp1251", declare_encoding=False)
    assert extract(data, "book.fb2").sections[0].chapter == "Глава первая"


def test_fb2_zip() -> None:
    data = make_zip([("Петров - Книга.fb2", make_fb2(SECTIONS))], stored_first=False)
    book = extract(data, "book.fb2.zip")
    assert book.format is BookFormat.FB2 and book.title == "Книга"
    assert len(book.sections) == 2


def test_fb2_zip_bomb() -> None:
    data = make_zip([("book.fb2", make_fb2(SECTIONS)), *zip_bomb("junk.bin")])
    assert _error(data, "book.fb2.zip").code is ErrorCode.ZIP_BOMB


def test_real_files() -> None:
    book = extract(read_file("fb2-rust-fb2/many_bodies.fb2"), "many_bodies.fb2")
    assert (book.title, book.author, book.language) == (
        "Вторая мировая война",
        "Уинстон Спенсер Черчилль",
        "ru",
    )
    assert [s.chapter for s in book.sections][-2:] == ["Примечания", "Комментарии"]
    poem = extract(read_file("pandoc-tests/fb2/reader/poem.fb2"), "poem.fb2")
    assert "Verse\nMore verse" in poem.text
    titles = extract(read_file("pandoc-tests/fb2/reader/titles.fb2"), "titles.fb2")
    assert len({s.chapter for s in titles.sections}) >= 2


def test_xml_bomb() -> None:
    data = (
        BILLION_LAUGHS.replace("lolz", "FictionBook")
        + "<FictionBook><body><p>&lol9;</p></body></FictionBook>"
    ).encode()
    assert _error(data).code is ErrorCode.XML_BOMB


def test_broken_markup_is_repaired() -> None:
    data = make_fb2(SECTIONS)[:-60]  # cut inside the closing tags
    book = extract(data, "book.fb2")
    assert "Я приехал в Оренбург" in book.text


def test_fb2_without_text() -> None:
    data = b'<?xml version="1.0"?><FictionBook xmlns="http://www.gribuser.ru/xml/fictionbook/2.0"><body/></FictionBook>'
    assert _error(data).code is ErrorCode.NO_TEXT
