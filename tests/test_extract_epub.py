"""EPUB 2/3: spine order, chapters from nav/NCX (split at anchors), hostile archives."""

from __future__ import annotations

import pytest

from services.ingestion.detect import BookFormat
from services.ingestion.errors import ErrorCode, IngestionError
from services.ingestion.extract import ExtractLimits, extract
from tests.extract_factories import (
    BILLION_LAUGHS,
    CONTAINER,
    make_epub,
    make_zip,
    read_file,
    xhtml,
    zip_bomb,
)


def _error(data: bytes, **kwargs: object) -> IngestionError:
    with pytest.raises(IngestionError) as caught:
        extract(data, "book.epub", **kwargs)  # type: ignore[arg-type]
    return caught.value


def _chapters(data: bytes) -> list[tuple[str | None, int]]:
    return [(s.chapter, s.level) for s in extract(data, "book.epub").sections]


def test_alice_spine_and_navigation() -> None:
    book = extract(read_file("epub-epubjs/alice.epub"), "alice.epub")
    assert book.format is BookFormat.EPUB
    assert (book.title, book.author, book.language, book.pages) == (
        "Alice's Adventures in Wonderland",
        "Lewis Carroll",
        "en",
        None,
    )
    chapters = [s.chapter for s in book.sections]
    assert chapters[1:4] == ["Down The Rabbit-Hole", "The Pool Of Tears", "A Caucus-Race And A Long Tale"]
    assert book.sections[1].text.startswith("Down The Rabbit-Hole\n\nAlice was beginning to get very tired")
    assert "Curiouser and curiouser" in book.sections[2].text


def test_toc_anchors_split_one_document() -> None:
    book = extract(read_file("pandoc-tests/epub/wasteland.epub"), "wasteland.epub")
    assert [s.chapter for s in book.sections] == [None, "I. THE BURIAL OF THE DEAD", "II. A GAME OF CHESS"]
    assert book.sections[1].text.startswith(
        "I. THE BURIAL OF THE DEAD\n\nApril is the cruellest month, breeding"
    )
    assert book.sections[0].text.startswith("The Waste Land\n\nT.S. Eliot")


def test_epub3_nested_navigation() -> None:
    data = make_epub(
        [
            ("part1.xhtml", xhtml("<h1>Part One</h1><p>Opening words.</p>")),
            ("ch1.xhtml", xhtml('<h2>First</h2><p>One.</p><h2 id="s2">Second</h2><p>Two.</p>')),
            ("ch1b.xhtml", xhtml("<p>Continuation of the second chapter.</p>")),
            ("notes.xhtml", xhtml("<h1>Notes</h1><p>A note.</p>")),
        ],
        nav=[("part1.xhtml", "Part One", 1), ("ch1.xhtml", "First", 2), ("ch1.xhtml#s2", "Second", 2)],
    )
    book = extract(data, "b.epub")
    assert [(s.chapter, s.level) for s in book.sections] == [
        ("Part One", 1),
        ("First", 2),
        ("Second", 2),
        ("Notes", 1),  # not in the table of contents: its heading names it
    ]
    assert book.sections[2].text == "Second\n\nTwo.\n\nContinuation of the second chapter."
    assert "Contents" not in book.text  # the navigation document itself is not book text
    assert (book.title, book.author, book.language) == ("A Test Book", "Jane Writer", "en")


def test_epub2_ncx() -> None:
    data = make_epub(
        [("a.xhtml", xhtml("<p>Alpha text.</p>")), ("b.xhtml", xhtml("<p>Beta text.</p>"))],
        ncx=[("a.xhtml", "Глава первая", 1), ("b.xhtml", "Глава вторая", 1)],
        language="ru",
    )
    assert _chapters(data) == [("Глава первая", 1), ("Глава вторая", 1)]


def test_without_toc_headings_start_chapters() -> None:
    data = make_epub(
        [("a.xhtml", xhtml("<p>Front.</p><h1>One</h1><p>x</p><h2>One.A</h2><p>y</p><h5>small</h5><p>z</p>"))]
    )
    assert _chapters(data) == [(None, 0), ("One", 1), ("One.A", 2)]


def test_malformed_xhtml_is_read_leniently() -> None:
    data = make_epub([("a.xhtml", "<html><body><p>Unclosed <b>bold<p>Second &nbsp; para &copy; 2020</body>")])
    book = extract(data, "b.epub")
    assert book.text == "Unclosed bold\n\nSecond para © 2020"


def test_entities_in_xhtml_are_resolved_without_a_dtd() -> None:
    data = make_epub([("a.xhtml", xhtml("<p>a&nbsp;b &mdash; c &amp; d &#233;</p>"))])
    assert extract(data, "b.epub").text == "a b — c & d é"


def test_missing_container_falls_back_to_the_package_file() -> None:
    data = make_epub([("a.xhtml", xhtml("<p>Found anyway.</p>"))], container=False)
    assert extract(data, "b.epub").text == "Found anyway."


def test_hrefs_leaving_the_archive_or_missing_are_skipped() -> None:
    data = make_epub([("a.xhtml", xhtml("<p>Kept.</p>"))], absent=["../../../etc/passwd", "gone.xhtml"])
    book = extract(data, "b.epub")
    assert book.text == "Kept."
    assert book.warnings == ["missing spine document OEBPS/gone.xhtml"]


@pytest.mark.parametrize(
    "name", ["../evil.xhtml", "/etc/passwd", "OEBPS/../../evil", "C:/Windows/evil", "..\\evil"]
)
def test_unsafe_member_names_are_refused(name: str) -> None:
    data = make_epub([("a.xhtml", xhtml("<p>x</p>"))], extra=[(name, "boom")])
    error = _error(data)
    assert error.code is ErrorCode.UNSAFE_ARCHIVE_PATH and error.details == {"member": name}


def test_zip_bomb_by_ratio() -> None:
    data = make_epub([("a.xhtml", xhtml("<p>x</p>"))], extra=zip_bomb())
    assert len(data) < 200_000
    error = _error(data)
    assert error.code is ErrorCode.ZIP_BOMB and error.details["reason"] == "ratio"


def test_zip_bomb_by_size_and_count() -> None:
    data = make_epub(
        [("a.xhtml", xhtml("<p>x</p>"))], extra=[(f"OEBPS/f{i}.css", "p{}" * 100) for i in range(30)]
    )
    error = _error(data, limits=ExtractLimits(max_zip_members=20))
    assert error.code is ErrorCode.ZIP_BOMB and error.details == {
        "reason": "members",
        "value": 34,
        "limit": 20,
    }
    error = _error(data, limits=ExtractLimits(max_unpacked_bytes=5000))
    assert error.code is ErrorCode.ZIP_BOMB and error.details["reason"] == "unpacked_size"


def test_zip_limits_are_enforced_while_reading() -> None:
    chapters = [(f"c{i}.xhtml", xhtml("<p>" + "word " * 400 + "</p>")) for i in range(10)]
    data = make_epub(chapters)
    assert len(extract(data, "b.epub").sections) == 1
    error = _error(data, limits=ExtractLimits(max_read_bytes=8000))
    assert error.code is ErrorCode.ZIP_BOMB and error.details["reason"] == "read_budget"


def test_lying_zip_directory_is_corrupt() -> None:
    data = bytearray(make_epub([("a.xhtml", xhtml("<p>" + "word " * 2000 + "</p>"))]))
    # Shrink the declared size of the chapter in both headers: inflating yields more than declared.
    member = b"OEBPS/a.xhtml"
    for signature, size_offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            name_offset = 30 if signature == b"PK\x03\x04" else 46
            if data[start + name_offset : start + name_offset + len(member)] == member:
                data[start + size_offset : start + size_offset + 4] = (100).to_bytes(4, "little")
            start += 4
    assert _error(bytes(data)).code is ErrorCode.CORRUPT_FILE


@pytest.mark.parametrize("where", ["content", "package", "container"])
def test_xml_bombs(where: str) -> None:
    bomb_doc = (
        BILLION_LAUGHS.replace("lolz", "html")
        + '<html xmlns="http://www.w3.org/1999/xhtml"><body><p>&lol9;</p></body></html>'
    )
    if where == "content":
        data = make_epub([("a.xhtml", bomb_doc)])
    elif where == "package":
        data = make_zip(
            [
                ("mimetype", "application/epub+zip"),
                ("META-INF/container.xml", CONTAINER),
                (
                    "OEBPS/content.opf",
                    BILLION_LAUGHS.replace("lolz", "package") + "<package>&lol9;</package>",
                ),
            ]
        )
    else:
        data = make_zip(
            [
                ("mimetype", "application/epub+zip"),
                (
                    "META-INF/container.xml",
                    BILLION_LAUGHS.replace("lolz", "container") + "<container>&lol9;</container>",
                ),
            ]
        )
    error = _error(data)
    assert error.code is ErrorCode.XML_BOMB and "member" in error.details


def test_external_entities_are_refused() -> None:
    doc = '<?xml version="1.0"?><!DOCTYPE html [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><html><body><p>&xxe;</p></body></html>'
    assert _error(make_epub([("a.xhtml", doc)])).code is ErrorCode.XML_BOMB


def test_drm_is_refused_but_font_obfuscation_is_not() -> None:
    def encryption(algorithm: str, uri: str) -> str:
        return (
            '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
            'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
            f'<enc:EncryptionMethod Algorithm="{algorithm}"/>'
            f'<enc:CipherData><enc:CipherReference URI="{uri}"/></enc:CipherData></enc:EncryptedData></encryption>'
        )

    drm = make_epub(
        [("a.xhtml", xhtml("<p>x</p>"))],
        extra=[
            (
                "META-INF/encryption.xml",
                encryption("http://www.w3.org/2001/04/xmlenc#aes128-cbc", "OEBPS/a.xhtml"),
            )
        ],
    )
    error = _error(drm)
    assert error.code is ErrorCode.UNSUPPORTED_TYPE and error.details == {"detected": "epub_drm"}
    fonts = make_epub(
        [("a.xhtml", xhtml("<p>x</p>"))],
        extra=[("META-INF/encryption.xml", encryption("http://www.idpf.org/2008/embedding", "OEBPS/f.otf"))],
    )
    assert extract(fonts, "b.epub").text == "x"


def test_epub_without_text() -> None:
    data = make_epub([("a.xhtml", xhtml('<img src="cover.jpg" alt=""/>'))])
    assert _error(data).code is ErrorCode.NO_TEXT


@pytest.mark.parametrize(
    "relative",
    [
        "epub-epubcheck/epub3/04-ocf/files/ocf-filename-not-utf8-error.epub",
        "epub-epubcheck/epub3/04-ocf/files/ocf-filepath-not-utf8-error.epub",
        "epub-epubcheck/epub3/04-ocf/files/ocf-mimetype-file-missing-error.epub",
        "epub-epubcheck/epub3/04-ocf/files/ocf-filename-duplicate-zip-entry-error.epub",
        "epub-epubcheck/epub2/files/epub/ocf-minimal-valid.epub",
    ],
)
def test_odd_but_readable_containers(relative: str) -> None:
    book = extract(read_file(relative), "x.epub")
    assert book.text.strip()
