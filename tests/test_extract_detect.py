"""Format detection: content decides, the name only separates plain text, Markdown and HTML."""

from __future__ import annotations

import pickle

import pytest

from services.ingestion.detect import BookFormat, detect_format
from services.ingestion.errors import ErrorCode, IngestionError
from tests.extract_factories import make_docx, make_epub, make_fb2, make_pdf, make_zip, read_file, xhtml


def _code(data: bytes, name: str | None = None) -> ErrorCode:
    with pytest.raises(IngestionError) as caught:
        detect_format(data, name)
    return caught.value.code


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("pdf-pypdf-resources/crazyones.pdf", BookFormat.PDF),
        ("epub-epubjs/alice.epub", BookFormat.EPUB),
        ("fb2-rust-fb2/minimal.fb2", BookFormat.FB2),
        ("pandoc-tests/docx/headers.docx", BookFormat.DOCX),
        ("pandoc-tests/docx/alternate_document_path.docx", BookFormat.DOCX),
        ("pdf-py-pdf-sample-files/README.md", BookFormat.MARKDOWN),
        # A DOCX that epubcheck ships with an .epub name: the content wins.
        ("epub-epubcheck/epub3/04-ocf/files/ocf-container-not-ocf-error.epub", BookFormat.DOCX),
    ],
)
def test_real_files(relative: str, expected: BookFormat) -> None:
    assert detect_format(read_file(relative), relative.rsplit("/", 1)[-1]) is expected


def test_names_do_not_override_content() -> None:
    assert detect_format(make_pdf(["hello"]), "book.epub") is BookFormat.PDF
    assert detect_format(make_epub([("a.xhtml", xhtml("<p>x</p>"))]), "book.pdf") is BookFormat.EPUB
    assert detect_format(make_docx([("", "x")]), "book.txt") is BookFormat.DOCX
    assert detect_format(make_fb2([("Глава", ["текст"])]), "book.txt") is BookFormat.FB2
    assert detect_format(make_zip([("book.fb2", make_fb2([("a", ["b"])]))]), "x.zip") is BookFormat.FB2


def test_pdf_header_may_follow_junk() -> None:
    assert detect_format(b"\n\n  " + make_pdf(["x"]), None) is BookFormat.PDF


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (b"Just some words.\nAnd more.", "notes.txt", BookFormat.TXT),
        (b"Just some words.\nAnd more.", None, BookFormat.TXT),
        (b"Just some words.", "notes.md", BookFormat.MARKDOWN),
        (b"# Title\n\ntext\n\n## Part\n\nmore", None, BookFormat.MARKDOWN),
        (b"# Title\n\ntext\n\n## Part\n\nmore", "a.txt", BookFormat.TXT),
        (b"<!DOCTYPE html><html><body><p>x</p></body></html>", "a.txt", BookFormat.HTML),
        (b"<p>Hello</p><p>World</p>", "page.htm", BookFormat.HTML),
        (b"<p>Hello</p><p>World</p>", None, BookFormat.HTML),
        (
            b"\xef\xbb\xbf<?xml version='1.0'?><html xmlns='http://www.w3.org/1999/xhtml'/>",
            None,
            BookFormat.HTML,
        ),
        ("Привет, мир".encode("utf-16"), None, BookFormat.TXT),
        ("Привет, мир, это текст без метки порядка байтов".encode("utf-16-le"), None, BookFormat.TXT),
        ("Привет, мир".encode("cp1251"), "a.txt", BookFormat.TXT),
        ("<FictionBook><body/></FictionBook>".encode("utf-16"), None, BookFormat.FB2),
    ],
)
def test_text_formats(data: bytes, name: str | None, expected: BookFormat) -> None:
    assert detect_format(data, name) is expected


@pytest.mark.parametrize(
    ("data", "detected"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image/png"),
        (
            read_file(
                "epub-epubcheck/epub3/04-ocf/files/ocf-zip-unreadable-image-with-epub-extension-fatal.epub"
            ),
            "image/jpeg",
        ),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64, "ole2"),
        (b"AT&TFORM\0\0\0\0DJVU", "djvu"),
        (b"\0" * 60 + b"BOOKMOBI" + b"\0" * 32, "mobi"),
        (b"Rar!\x1a\x07\x00" + b"\0" * 32, "rar"),
        (b"{\\rtf1\\ansi hello}", "rtf"),
        (read_file("pdf-pypdf-resources/lzw_decoder_table_overflow.bin"), "binary"),
        (make_zip([("readme.txt", "hi")]), "zip"),
        (
            make_zip([("mimetype", "application/vnd.oasis.opendocument.text"), ("content.xml", "<x/>")]),
            "opendocument",
        ),
        (b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg'/>", "xml"),
    ],
)
def test_unsupported(data: bytes, detected: str) -> None:
    with pytest.raises(IngestionError) as caught:
        detect_format(data, "book.epub")
    assert caught.value.code is ErrorCode.UNSUPPORTED_TYPE
    assert caught.value.details == {"detected": detected}


@pytest.mark.parametrize("data", [b"", b"   \n\t ", b"\xef\xbb\xbf", b"\0\0\0"])
def test_empty(data: bytes) -> None:
    assert _code(data, "a.txt") is ErrorCode.EMPTY_FILE


def test_broken_zip_is_corrupt() -> None:
    data = read_file("epub-epubcheck/epub3/04-ocf/files/ocf-zip-unreadable-no-end-header-fatal.epub")
    assert _code(data) is ErrorCode.CORRUPT_FILE
    truncated = make_epub([("a.xhtml", xhtml("<p>x</p>"))])[:-30]
    assert _code(truncated) is ErrorCode.CORRUPT_FILE


def test_error_codes_are_stable_strings_and_pickle() -> None:
    error = IngestionError("too_large", size=10, limit=5)
    assert error.code == "too_large" and error.code is ErrorCode.TOO_LARGE
    copy = pickle.loads(pickle.dumps(error))
    assert copy.code is ErrorCode.TOO_LARGE and copy.details == {"size": 10, "limit": 5}
    assert str(copy) == "too_large (size=10, limit=5)"
    with pytest.raises(ValueError):
        IngestionError("no_such_code")
