"""HTML books: h1-h3 headings start chapters; title, author and language from <head>."""

from __future__ import annotations

from lxml import etree

from services.ingestion.detect import BookFormat
from services.ingestion.errors import ErrorCode, IngestionError
from services.ingestion.extract.htmltext import html_blocks
from services.ingestion.extract.language import pick_language
from services.ingestion.extract.model import ExtractedBook
from services.ingestion.extract.structure import SectionBuilder, clean_title, title_from_filename
from services.ingestion.extract.xmlsafe import decode_markup, local, parse_html, plain_text


def read_html(data: bytes, filename: str | None) -> ExtractedBook:
    root = parse_html(decode_markup(data), filename or "document.html", BookFormat.HTML.value)
    builder = SectionBuilder()
    for block in html_blocks(root):
        if block.kind == "h":
            builder.heading(block.text, block.level)
        elif block.kind == "p":
            builder.paragraph(block.text)
    sections = builder.build()
    if not sections:
        raise IngestionError(ErrorCode.NO_TEXT, format=BookFormat.HTML.value)
    head = head_metadata(root)
    first_h1 = next((title for title, level in builder.headings if level == 1), None)
    return ExtractedBook(
        title=clean_title(head.get("title") or first_h1 or title_from_filename(filename)) or None,
        author=clean_title(head.get("author")) or None,
        language=pick_language(head.get("language"), "\n\n".join(s.text for s in sections)),
        format=BookFormat.HTML,
        pages=None,
        sections=sections,
    )


def head_metadata(root: etree._Element) -> dict[str, str]:
    """title, author and language from <title>, <meta> and <html lang>."""
    meta: dict[str, str] = {}
    language = root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang")
    if language:
        meta["language"] = language
    for node in root.iter():
        tag = local(node.tag)
        if tag == "title" and "title" not in meta:
            title = plain_text(node)
            if title:
                meta["title"] = title
        elif tag == "meta":
            name = (node.get("name") or node.get("property") or node.get("http-equiv") or "").lower()
            content = (node.get("content") or "").strip()
            if not content:
                continue
            if name in ("author", "dc.creator", "dcterms.creator", "book:author"):
                meta.setdefault("author", content)
            elif name in ("og:title", "dc.title", "dcterms.title"):
                meta.setdefault("title", content)
            elif name in ("content-language", "dc.language", "language"):
                meta.setdefault("language", content)
        elif tag == "body":
            break
    return meta
