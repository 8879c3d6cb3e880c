"""Plain text: encodings decoded right, chapters found, Gutenberg boilerplate dropped."""

from __future__ import annotations

import codecs

import pytest

from services.ingestion.detect import BookFormat
from services.ingestion.errors import ErrorCode, IngestionError
from services.ingestion.extract import extract
from services.ingestion.extract.textdecode import decode_text
from tests.extract_factories import BOOKS

RUSSIAN = (BOOKS / "ruslit" / "pushkin-queen-of-spades.txt").read_text(encoding="utf-8")
RUSSIAN_SHORT = (BOOKS / "ruslit" / "gogol-taras-bulba.txt").read_text(encoding="utf-8")[:3000]
FRENCH = (
    "L'été dernier, nous sommes allés à la mer avec nos enfants. Ça a été très agréable, même si la pluie "
    "était là presque chaque après-midi. Le garçon a reçu un cadeau pour Noël; sa soeur, déçue, a pleuré."
)
GERMAN = "Über den Wolken muß die Freiheit wohl grenzenlos sein. Größere Äpfel schmecken süßer; die Straße führt weiter."


def _roundtrip(text: str, codec: str) -> str:
    """What `text` is after a trip through `codec` (characters it lacks become '?')."""
    return text.encode(codec, errors="replace").decode(codec)


@pytest.mark.parametrize(
    "codec",
    [
        "utf-8",
        "utf-8-sig",
        "utf-16",
        "utf-16-le",
        "utf-16-be",
        "utf-32",
        "cp1251",
        "koi8-r",
        "cp866",
        "iso8859-5",
        "mac-cyrillic",
    ],
)
@pytest.mark.parametrize("text", [RUSSIAN, RUSSIAN_SHORT], ids=["story", "excerpt"])
def test_russian_in_every_common_encoding(codec: str, text: str) -> None:
    data = text.encode(codec, errors="replace")
    expected = text if codec.startswith("utf") else _roundtrip(text, codec)
    assert decode_text(data) == expected


@pytest.mark.parametrize("codec", ["latin-1", "cp1252", "utf-8", "utf-16"])
@pytest.mark.parametrize("text", [FRENCH, GERMAN], ids=["fr", "de"])
def test_western_texts(codec: str, text: str) -> None:
    assert decode_text(text.encode(codec)) == text


def test_short_cp1251_line_is_still_russian() -> None:
    assert decode_text("Глава первая. Мальчик".encode("cp1251")) == "Глава первая. Мальчик"


def test_utf8_with_a_stray_byte_stays_utf8() -> None:
    data = ("Привет, мир! " * 200).encode("utf-8") + b"\xff" + "Ещё текст.".encode()
    assert decode_text(data).endswith("Ещё текст.")


@pytest.mark.parametrize("codec", ["utf-8", "cp1251", "koi8-r", "utf-16"])
def test_russian_book_through_extract(codec: str) -> None:
    path = BOOKS / "ruslit" / "pushkin-captains-daughter.txt"
    data = path.read_text(encoding="utf-8").encode(codec, errors="replace")
    book = extract(data, "Капитанская дочка.txt")
    assert book.format is BookFormat.TXT
    assert book.language == "ru"
    assert book.author == "Александр Пушкин"
    assert book.title == "Капитанская дочка"
    chapters = [s.chapter for s in book.sections if s.chapter]
    assert chapters[0] == "ГЛАВА I. СЕРЖАНТ ГВАРДИИ"
    assert "ГЛАВА XIV. СУД" in chapters
    assert "Береги честь смолоду" in book.sections[0].text


def test_gutenberg_chapters_and_metadata() -> None:
    book = extract((BOOKS / "gutenberg" / "carroll-alice.txt").read_bytes(), "carroll-alice.txt")
    assert (book.title, book.author, book.language) == (
        "Alice's Adventures in Wonderland",
        "Lewis Carroll",
        "en",
    )
    titled = [s for s in book.sections if s.chapter]
    assert titled[0].chapter == "CHAPTER I. Down the Rabbit-Hole"
    assert titled[0].text.startswith("CHAPTER I. Down the Rabbit-Hole\n\nAlice was beginning")
    assert len({s.chapter for s in titled}) == 12
    # paragraphs are separated by blank lines, wrapped lines inside them kept
    assert "\n\n" in titled[0].text


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("CHAPTER I", "CHAPTER I"),
        ("Chapter 1.", "Chapter 1."),
        ("CHAPTER 12. Loomings.", "CHAPTER 12. Loomings."),
        ("ГЛАВА I", "ГЛАВА I"),
        ("Глава первая", "Глава первая"),
        ("IV", "IV"),
        ("Actus Primus. Scoena Prima.", "Act I, Scene 1"),
        ("ACT III. SCENE II.", "Act III, Scene 2"),
    ],
)
def test_chapter_lines(line: str, expected: str) -> None:
    body = "Some text of the chapter goes on and on.\n\n"
    text = f"Front matter.\n\nII\n\n{body}{line}\n\n{body}"
    book = extract(text.encode(), "book.txt")
    assert expected in [s.chapter for s in book.sections]


def test_lines_inside_paragraphs_are_not_headings() -> None:
    text = "He said that\nChapter 5\nwas his favourite.\n\nPart on the plain, or in the air sublime,\nmore.\n"
    book = extract(text.encode(), "a.txt")
    assert [s.chapter for s in book.sections] == [None]


def test_parts_above_chapters_and_bare_numerals_named_with_their_part() -> None:
    book = extract(
        (BOOKS / "ruslit" / "tolstoy-anna-karenina.txt").read_bytes()[:200_000], "Анна Каренина.txt"
    )
    levels = {(s.chapter, s.level) for s in book.sections}
    assert ("Часть первая", 1) in levels
    assert ("Часть первая, I", 2) in levels


def test_one_paragraph_per_line_texts() -> None:
    text = "\n".join(
        f"Абзац номер {i}. Здесь довольно длинная строка текста, как в русских файлах." for i in range(50)
    )
    book = extract(text.encode("cp1251"), "x.txt")
    assert book.sections[0].text.count("\n\n") == 49


def test_gutenberg_licence_is_dropped() -> None:
    text = (
        "The Project Gutenberg EBook of Tiny, by Some One\n\nTitle: Tiny Book\nAuthor: Some One\nLanguage: English\n\n"
        "*** START OF THIS PROJECT GUTENBERG EBOOK TINY ***\n\nThe real text.\n\n"
        "*** END OF THIS PROJECT GUTENBERG EBOOK TINY ***\n\nLicence, donations, trademark.\n"
    )
    book = extract(text.encode(), "pg123.txt")
    assert (book.title, book.author, book.language) == ("Tiny Book", "Some One", "en")
    assert book.text == "The real text."


def test_title_falls_back_to_file_name() -> None:
    book = extract(b"Just a few words of text.", "My_Great-Novel.v2.txt")
    assert book.title == "My Great-Novel"


@pytest.mark.parametrize("data", [b"   \n\n  ", codecs.BOM_UTF8 + b"\n\n"])
def test_blank_text(data: bytes) -> None:
    with pytest.raises(IngestionError) as caught:
        extract(data, "a.txt")
    assert caught.value.code in (ErrorCode.EMPTY_FILE, ErrorCode.NO_TEXT)


def test_too_large() -> None:
    with pytest.raises(IngestionError) as caught:
        extract(b"x" * 1000, "a.txt", max_bytes=999)
    assert caught.value.code is ErrorCode.TOO_LARGE
    assert caught.value.details == {"size": 1000, "limit": 999}
