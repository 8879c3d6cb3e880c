"""DOCX: headings by style or outline level become chapters; tables, text boxes, tracked changes."""

from __future__ import annotations

import pytest

from services.ingestion.detect import BookFormat
from services.ingestion.errors import ErrorCode, IngestionError
from services.ingestion.extract import extract
from tests.extract_factories import BILLION_LAUGHS, make_docx, read_file, replace_member


def _error(data: bytes) -> IngestionError:
    with pytest.raises(IngestionError) as caught:
        extract(data, "book.docx")
    return caught.value


def test_headings_paragraphs_tables_and_properties() -> None:
    data = make_docx(
        [
            ("Title", "The Handbook"),
            ("", "Foreword text."),
            ("Heading 1", "Getting Started"),
            ("", "First paragraph."),
            ("Heading 2", "Installing"),
            ("", "Run the installer."),
            ("Heading 4", "A minor note"),
            ("", "Details."),
            ("Heading 1", "Using It"),
            ("", "Open the app."),
        ],
        author="Ann Author",
        table=[["Key", "Value"], ["speed", "fast"]],
    )
    book = extract(data, "handbook.docx")
    assert book.format is BookFormat.DOCX
    assert (book.title, book.author, book.language) == ("The Handbook", "Ann Author", "en")
    assert [(s.chapter, s.level) for s in book.sections] == [
        (None, 0),
        ("Getting Started", 1),
        ("Installing", 2),
        ("Using It", 1),
    ]
    assert book.sections[0].text == "The Handbook\n\nForeword text."
    assert book.sections[2].text == "Installing\n\nRun the installer.\n\nA minor note\n\nDetails."
    assert book.sections[3].text.endswith("Open the app.\n\nKey | Value\n\nspeed | fast")


def test_core_title_wins_over_title_style() -> None:
    data = make_docx([("Title", "Shown Title"), ("", "x")], title="Stored Title")
    assert extract(data, "a.docx").title == "Stored Title"


def test_real_headings_and_alternate_main_part() -> None:
    book = extract(read_file("pandoc-tests/docx/headers.docx"), "headers.docx")
    assert [s.chapter for s in book.sections][:3] == ["A Test of Headers", "Second Level", "Third level"]
    moved = extract(read_file("pandoc-tests/docx/alternate_document_path.docx"), "alt.docx")
    assert moved.text.strip()


W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _paragraph(text: str, style: str | None = None, outline: int | None = None) -> str:
    properties = ""
    if style:
        properties += f'<w:pStyle w:val="{style}"/>'
    if outline is not None:
        properties += f'<w:outlineLvl w:val="{outline}"/>'
    return f"<w:p><w:pPr>{properties}</w:pPr><w:r><w:t>{text}</w:t></w:r></w:p>"


def test_localised_heading_styles_by_outline_level() -> None:
    styles = (
        f'<w:styles xmlns:w="{W}">'
        '<w:style w:type="paragraph" w:styleId="berschrift1"><w:name w:val="Überschrift 1"/>'
        '<w:pPr><w:outlineLvl w:val="0"/></w:pPr></w:style>'
        '<w:style w:type="paragraph" w:styleId="Kapitel"><w:name w:val="Kapitel"/><w:basedOn w:val="berschrift1"/></w:style>'
        '<w:style w:type="paragraph" w:styleId="Zwei"><w:name w:val="heading 2"/></w:style>'
        "</w:styles>"
    )
    body = "".join(
        [
            _paragraph("Erstes", "berschrift1"),
            _paragraph("Text eins."),
            _paragraph("Zweites", "Kapitel"),
            _paragraph("Unter", "Zwei"),
            _paragraph("Direkt", outline=0),
            _paragraph("Ende."),
        ]
    )
    data = make_docx([("", "placeholder")])
    data = replace_member(data, "word/styles.xml", styles)
    data = replace_member(
        data, "word/document.xml", f'<w:document xmlns:w="{W}"><w:body>{body}</w:body></w:document>'
    )
    book = extract(data, "de.docx")
    assert [(s.chapter, s.level) for s in book.sections] == [
        ("Erstes", 1),
        ("Zweites", 1),
        ("Unter", 2),
        ("Direkt", 1),
    ]
    assert book.sections[-1].text == "Direkt\n\nEnde."


def test_tracked_changes_keep_insertions_and_drop_deletions() -> None:
    deleted = extract(read_file("pandoc-tests/docx/track_changes_deletion.docx"), "d.docx").text
    inserted = extract(read_file("pandoc-tests/docx/track_changes_insertion.docx"), "i.docx").text
    moved = extract(read_file("pandoc-tests/docx/track_changes_move.docx"), "m.docx").text
    assert deleted == "This is a text with a deletion."
    assert inserted == "This is a text with two exciting insertions."
    assert moved.count("Here is the text to be moved.") == 1


def test_text_boxes_are_read_once() -> None:
    text = extract(read_file("pandoc-tests/docx/textbox_image.docx"), "t.docx").text
    paragraphs = [p for p in text.split("\n\n") if p]
    assert len(paragraphs) == len(set(paragraphs))


def test_xml_bomb_in_document_part() -> None:
    data = make_docx([("", "x")])
    bomb = BILLION_LAUGHS.replace("lolz", "w:document") + "<w:document>&lol9;</w:document>"
    assert _error(replace_member(data, "word/document.xml", bomb)).code is ErrorCode.XML_BOMB


def test_missing_main_part_is_corrupt() -> None:
    data = replace_member(make_docx([("", "x")]), "word/document.xml", "not xml at all <<<")
    assert _error(data).code in (ErrorCode.CORRUPT_FILE, ErrorCode.NO_TEXT)


def test_empty_document() -> None:
    assert (
        _error(read_file("docx-python-docx/features/steps/test_files/doc-default.docx")).code
        is ErrorCode.NO_TEXT
    )
