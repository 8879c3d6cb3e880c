"""FictionBook 2 (and .fb2.zip): nested <section>s with <title>s become chapters; metadata from
<title-info>; notes bodies follow the main text as one chapter each."""

from __future__ import annotations

from lxml import etree

from services.ingestion.detect import BookFormat
from services.ingestion.errors import ErrorCode, IngestionError
from services.ingestion.extract.language import pick_language
from services.ingestion.extract.model import ExtractedBook, ExtractLimits
from services.ingestion.extract.safezip import SafeZip
from services.ingestion.extract.structure import SectionBuilder, clean_title, title_from_filename
from services.ingestion.extract.textdecode import decode_text
from services.ingestion.extract.xmlsafe import children, first, local, parse_xml, plain_text

_FMT = BookFormat.FB2.value
_PARAGRAPHS = frozenset(("p", "subtitle", "text-author", "date", "v"))
_CONTAINERS = frozenset(("cite", "epigraph", "poem", "annotation"))


def read_fb2(data: bytes, filename: str | None, limits: ExtractLimits) -> ExtractedBook:
    member = filename or "book.fb2"
    if data[:4] == b"PK\x03\x04":
        data, member = _unzip(data, limits)
    root = _parse(data, member)
    if local(root.tag) != "fictionbook":
        raise IngestionError(ErrorCode.CORRUPT_FILE, format=_FMT, reason=f"root element {local(root.tag)}")
    builder = SectionBuilder()
    for body in children(root, "body"):
        _read_body(body, builder)
    sections = builder.build()
    if not sections:
        raise IngestionError(ErrorCode.NO_TEXT, format=_FMT)
    info = _title_info(root)
    return ExtractedBook(
        title=clean_title(info.get("title") or title_from_filename(filename)) or None,
        author=clean_title(info.get("author")) or None,
        language=pick_language(info.get("lang"), "\n\n".join(s.text for s in sections)),
        format=BookFormat.FB2,
        pages=None,
        sections=sections,
    )


def _unzip(data: bytes, limits: ExtractLimits) -> tuple[bytes, str]:
    with SafeZip(data, limits, _FMT) as archive:
        names = [name for name in archive.names if name.lower().endswith(".fb2")]
        if not names:
            raise IngestionError(ErrorCode.CORRUPT_FILE, format=_FMT, reason="no .fb2 inside the zip")
        return archive.read(names[0]), names[0]


def _parse(data: bytes, member: str) -> etree._Element:
    try:
        return parse_xml(data, member, _FMT)
    except IngestionError as exc:
        if exc.code != ErrorCode.CORRUPT_FILE:
            raise
    # Files saved in cp1251 without saying so, or with broken markup: decode ourselves and let
    # the parser repair what it can.
    text = decode_text(data)
    text = text.split("?>", 1)[1] if text.lstrip().startswith("<?xml") else text
    return parse_xml(text.encode("utf-8"), member, _FMT, recover=True)


def _read_body(body: etree._Element, builder: SectionBuilder) -> None:
    name = (body.get("name") or "").strip()
    title = first(body, "title")
    if name:  # notes, comments: one chapter, inner titles stay as text
        builder.chapter(_title_text(title) if title is not None else name, 1)
        for child in body:
            if child is not title:
                _read_flat(child, builder)
        builder.flush()
        return
    builder.chapter(None)
    for child in body:
        if child is title:
            for line in _title_lines(child):
                builder.paragraph(line)
        elif local(child.tag) == "section":
            _read_section(child, builder, 1)
        else:
            _read_block(child, builder)


def _read_section(section: etree._Element, builder: SectionBuilder, depth: int) -> None:
    title = first(section, "title")
    if title is not None:
        builder.heading(_title_text(title), depth)
    for child in section:
        if child is title:
            continue
        if local(child.tag) == "section":
            _read_section(child, builder, depth + 1)
        else:
            _read_block(child, builder)


def _read_block(element: etree._Element, builder: SectionBuilder) -> None:
    tag = local(element.tag)
    if tag in _PARAGRAPHS:
        builder.paragraph(plain_text(element))
    elif tag == "stanza":
        builder.paragraph("\n".join(plain_text(line) for line in element if local(line.tag) in _PARAGRAPHS))
    elif tag == "title":
        for line in _title_lines(element):
            builder.paragraph(line)
    elif tag == "table":
        for row in element.iter():
            if local(row.tag) == "tr":
                builder.paragraph(" | ".join(plain_text(cell) for cell in row if isinstance(cell.tag, str)))
    elif tag in _CONTAINERS:
        for child in element:
            _read_block(child, builder)


def _read_flat(element: etree._Element, builder: SectionBuilder) -> None:
    if local(element.tag) == "section":
        for child in element:
            _read_flat(child, builder)
    else:
        _read_block(element, builder)


def _title_lines(title: etree._Element) -> list[str]:
    return [text for text in (plain_text(p) for p in title if local(p.tag) == "p") if text]


def _title_text(title: etree._Element) -> str:
    lines = _title_lines(title) or [plain_text(title)]
    joined = ""
    for line in lines:
        if joined and not joined.endswith((".", "!", "?", ":", "…")):
            joined += "."
        joined = f"{joined} {line}" if joined else line
    return joined


def _title_info(root: etree._Element) -> dict[str, str]:
    info: dict[str, str] = {}
    description = first(root, "description")
    title_info = first(description, "title-info") if description is not None else None
    if title_info is None:
        return info
    book_title = first(title_info, "book-title")
    if book_title is not None and plain_text(book_title):
        info["title"] = plain_text(book_title)
    authors = []
    for author in children(title_info, "author"):
        parts = [
            plain_text(part)
            for part in author
            if local(part.tag) in ("first-name", "middle-name", "last-name")
        ]
        name = " ".join(part for part in parts if part)
        if not name:
            nickname = first(author, "nickname")
            name = plain_text(nickname) if nickname is not None else ""
        if name:
            authors.append(name)
    if authors:
        info["author"] = ", ".join(authors[:3])
    lang = first(title_info, "lang")
    if lang is not None and plain_text(lang):
        info["lang"] = plain_text(lang)
    return info
