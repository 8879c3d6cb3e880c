"""PDF: pages, outline chapters, metadata, passwords, active content, scans, limits."""

from __future__ import annotations

import pytest

from services.ingestion.detect import BookFormat
from services.ingestion.errors import ErrorCode, IngestionError
from services.ingestion.extract import extract
from services.ingestion.extract.pdf import _inspect, page_text
from tests.extract_factories import make_pdf, read_file

PAGES = [
    "Call me Ishmael. Some years ago, never mind how long precisely,\nhaving little money in my purse.",
    "It is a way I have of driving off the spleen and regulating the circulation.",
    "There now is your insular city of the Manhattoes, belted round by wharves.",
    "Circumambulate the city of a dreamy Sabbath afternoon. Go from Corlears Hook.",
]


def _error(data: bytes, **kwargs: object) -> IngestionError:
    with pytest.raises(IngestionError) as caught:
        extract(data, "book.pdf", **kwargs)  # type: ignore[arg-type]
    return caught.value


def test_pages_outline_and_metadata() -> None:
    data = make_pdf(
        PAGES, outline=[("Loomings", 0), ("The Carpet-Bag", 2)], title="Moby Dick", author="Herman Melville"
    )
    book = extract(data, "whatever.pdf")
    assert book.format is BookFormat.PDF
    assert (book.title, book.author, book.language, book.pages) == ("Moby Dick", "Herman Melville", "en", 4)
    assert [(s.page, s.chapter, s.level) for s in book.sections] == [
        (1, "Loomings", 1),
        (2, "Loomings", 1),
        (3, "The Carpet-Bag", 1),
        (4, "The Carpet-Bag", 1),
    ]
    assert (
        book.sections[0].text
        == "Call me Ishmael. Some years ago, never mind how long precisely,\nhaving little money in my purse."
    )
    assert book.chapters == 2


def test_real_outline_and_title_fallback() -> None:
    book = extract(read_file("pdf-py-pdf-sample-files/009-pdflatex-geotopo/GeoTopo-komprimiert.pdf"), "x.pdf")
    assert (book.title, book.author, book.language, book.pages) == (
        "Geometrie und Topologie",
        "Martin Thoma",
        "de",
        117,
    )
    pages = {s.page: s for s in book.sections}
    assert pages[10].chapter == "1.2 Metrische Räume" and pages[10].level == 2
    assert "Definition 8" in pages[10].text
    assert [s.page for s in book.sections] == sorted(s.page for s in book.sections if s.page)
    untitled = extract(read_file("pdf-pypdf-resources/crazyones.pdf"), "crazy_ones.pdf")
    assert untitled.title == "crazy ones"


def test_soft_hyphens_are_joined_and_paragraphs_found() -> None:
    raw = (
        "Die Übungsauf\x02gaben sind schwer und lang genug für eine ganze Zeile.\r\n"
        "Die zweite Zeile des Absatzes ist ebenfalls lang und geht weiter\r\n"
        "bis zum Ende.\r\n"
        "Ein neuer Absatz beginnt hier und ist wieder lang genug, gut.\r\n"
    )
    assert page_text(raw) == (
        "Die Übungsaufgaben sind schwer und lang genug für eine ganze Zeile.\n"
        "Die zweite Zeile des Absatzes ist ebenfalls lang und geht weiter\nbis zum Ende.\n\n"
        "Ein neuer Absatz beginnt hier und ist wieder lang genug, gut."
    )


@pytest.mark.parametrize(
    ("options", "features"),
    [
        ({"javascript": True}, ["javascript"]),
        ({"launch": True}, ["launch"]),
        ({"attachment": True}, ["embedded_files"]),
    ],
)
def test_active_content_refused_unless_allowed(options: dict[str, bool], features: list[str]) -> None:
    data = make_pdf(PAGES[:1], **options)  # type: ignore[arg-type]
    error = _error(data)
    assert error.code is ErrorCode.PDF_ACTIVE_CONTENT
    assert error.details == {"features": features}
    book = extract(data, "book.pdf", allow_active_pdf=True)
    assert book.sections[0].text.startswith("Call me Ishmael")
    assert book.warnings and features[0] in book.warnings[0]


@pytest.mark.parametrize(
    ("relative", "features"),
    [
        ("pdf-pypdf-resources/SF424_page2.pdf", {"javascript", "launch"}),
        ("pdf-pypdf-resources/issue-297.pdf", {"javascript"}),
        ("pdf-py-pdf-sample-files/025-attachment/with-attachment.pdf", {"embedded_files"}),
        ("pdf-pypdf-resources/example.pdf", {"embedded_files"}),  # a file-attachment annotation
        # Font data that happens to contain "/JS", links, GoToR and open-at-page actions are harmless.
        ("pdf-pypdf-resources/fontsampler.pdf", set()),
        ("pdf-pypdf-resources/encrypted_doc_no_id.pdf", set()),
        ("pdf-py-pdf-sample-files/016-libre-office-link/libre-office-link.pdf", set()),
        ("pdf-pypdf-resources/pdflatex-outline.pdf", set()),
    ],
)
def test_active_content_detection_on_real_files(relative: str, features: set[str]) -> None:
    found, _ = _inspect(read_file(relative), None)
    assert found == features


def test_structure_walk_uses_pypdf_on_object_streams() -> None:
    # Object streams hide dictionaries from a byte scan, so pypdf must have walked the file.
    found, reader = _inspect(read_file("pdf-pypdf-resources/pdflatex-outline.pdf"), None)
    assert found == set() and reader is not None


def test_password_protected() -> None:
    data = make_pdf(PAGES[:2], user_password="s3cret", owner_password="owner")
    assert _error(data).code is ErrorCode.PASSWORD_REQUIRED
    assert _error(data, password="nope").code is ErrorCode.WRONG_PASSWORD
    assert extract(data, "b.pdf", password="s3cret").sections[1].text.startswith("It is a way")
    assert extract(data, "b.pdf", password="owner").pages == 2


def test_owner_password_only_opens_without_asking() -> None:
    data = make_pdf(PAGES[:1], user_password="", owner_password="owner")
    assert extract(data, "b.pdf").pages == 1
    # A password typed for a file that needs none is not an error.
    assert extract(data, "b.pdf", password="whatever").pages == 1


@pytest.mark.parametrize(
    ("relative", "password"),
    [
        ("pdf-pypdf-resources/encryption/r2-user-password.pdf", "asdfzxcv"),
        ("pdf-pypdf-resources/encryption/r4-aes-user-password.pdf", "asdfzxcv"),
        ("pdf-pypdf-resources/encryption/r6-user-password.pdf", "asdfzxcv"),
        ("pdf-pypdf-resources/encryption/r6-both-passwords.pdf", "foo"),
        ("pdf-pypdf-resources/encryption/r6-both-passwords.pdf", "bar"),
        ("pdf-pypdf-resources/crazyones-encrypted-256.pdf", "password"),
    ],
)
def test_real_encrypted_files(relative: str, password: str) -> None:
    data = read_file(relative)
    assert _error(data).code is ErrorCode.PASSWORD_REQUIRED
    assert _error(data, password=password + "x").code is ErrorCode.WRONG_PASSWORD
    assert extract(data, "b.pdf", password=password).text.strip()


def test_scanned_pdf_has_no_text_layer() -> None:
    error = _error(read_file("pdf-pypdf-resources/imagemagick-images.pdf"))
    assert error.code is ErrorCode.NO_TEXT_LAYER and error.details == {"pages": 6}


def test_too_many_pages() -> None:
    error = _error(make_pdf(PAGES), max_pages=3)
    assert error.code is ErrorCode.TOO_MANY_PAGES and error.details == {"pages": 4, "limit": 3}


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.99])
def test_truncated_pdf_ends_cleanly(fraction: float) -> None:
    data = read_file("pdf-pypdf-resources/GeoBase_NHNC1_Data_Model_UML_EN.pdf")
    cut = data[: int(len(data) * fraction)]
    try:
        book = extract(cut, "cut.pdf")
    except IngestionError as error:
        assert error.code in (ErrorCode.CORRUPT_FILE, ErrorCode.NO_TEXT_LAYER, ErrorCode.NO_TEXT)
    else:
        assert book.text.strip()


def test_broken_structure_is_corrupt() -> None:
    error = _error(read_file("pdf-py-pdf-sample-files/017-unreadable-meta-data/unreadablemetadata.pdf"))
    assert error.code is ErrorCode.CORRUPT_FILE
    assert _error(b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF").code is ErrorCode.CORRUPT_FILE
