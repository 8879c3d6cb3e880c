"""Damaged files of every format end in a book or an IngestionError, never another exception."""

from __future__ import annotations

import random

import pytest

from services.ingestion.errors import ErrorCode, IngestionError
from services.ingestion.extract import extract
from tests.extract_factories import make_docx, make_epub, make_pdf, read_file, xhtml

SAMPLES = {
    "alice.epub": read_file("epub-epubjs/alice.epub")[:120_000]
    + read_file("epub-epubjs/alice.epub")[-8_000:],
    "made.epub": make_epub(
        [("a.xhtml", xhtml("<h1>One</h1><p>" + "text " * 300 + "</p>"))], nav=[("a.xhtml", "One", 1)]
    ),
    "complex.fb2": read_file("fb2-rust-fb2/complex.fb2"),
    "made.docx": make_docx([("Heading 1", "Start"), ("", "words " * 300)]),
    "headers.docx": read_file("pandoc-tests/docx/headers.docx"),
    "crazyones.pdf": read_file("pdf-pypdf-resources/crazyones.pdf"),
    "made.pdf": make_pdf(["Some text on a page " * 5, "More text"], outline=[("A", 0)]),
    "page.html": b"<html><head><title>t</title></head><body><h1>x</h1><p>"
    + b"word " * 200
    + b"</p></body></html>",
}
_ALLOWED = set(ErrorCode) - {ErrorCode.TOO_LARGE, ErrorCode.PASSWORD_REQUIRED, ErrorCode.WRONG_PASSWORD}


def _survives(data: bytes, name: str) -> None:
    try:
        book = extract(data, name)
    except IngestionError as error:
        assert error.code in _ALLOWED
        if error.code is ErrorCode.CORRUPT_FILE:
            assert not str(error.details.get("reason", "")).startswith("unexpected"), error.details
    else:
        assert book.sections and all(section.text for section in book.sections)


@pytest.mark.parametrize("name", sorted(SAMPLES))
@pytest.mark.parametrize("fraction", [0.05, 0.3, 0.6, 0.95])
def test_truncated(name: str, fraction: float) -> None:
    data = SAMPLES[name]
    _survives(data[: int(len(data) * fraction)], name)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_bytes_flipped(name: str) -> None:
    rng = random.Random(name)
    data = bytearray(SAMPLES[name])
    for _ in range(5):
        for position in rng.sample(range(len(data)), k=min(20, len(data))):
            data[position] = rng.randrange(256)
        _survives(bytes(data), name)


def test_fb2_with_huge_nesting_is_refused_not_crashing() -> None:
    nested = b"<section>" * 5000 + b"<p>deep</p>" + b"</section>" * 5000
    data = b'<?xml version="1.0"?><FictionBook><body>' + nested + b"</body></FictionBook>"
    _survives(data, "deep.fb2")


def test_html_with_huge_nesting() -> None:
    _survives(
        b"<html><body>" + b"<div>" * 20000 + b"deep" + b"</div>" * 20000 + b"</body></html>", "deep.html"
    )


def test_long_single_line_text() -> None:
    book = extract(("слово " * 200_000).encode("cp1251"), "one-line.txt")
    assert book.language == "ru" and len(book.sections) == 1
