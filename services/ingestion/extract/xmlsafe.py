"""Hardened XML/HTML parsing shared by the EPUB, FB2, DOCX and HTML readers.

lxml is configured never to expand entities, fetch anything from the network or build huge trees;
documents that declare entities in their DTD are refused as XML bombs before any tree is built.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.entities import html5

from lxml import etree, html

from services.ingestion.detect import sniff_text
from services.ingestion.errors import ErrorCode, IngestionError

_DOCTYPE_SUBSET_RE = re.compile(r"<!DOCTYPE[^\[>]*\[(.*?)\]\s*>", re.DOTALL | re.IGNORECASE)
_ENTITY_DECL_RE = re.compile(r"<!\s*ENTITY", re.IGNORECASE)
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_PROLOG_BYTES = 65536


def _xml_parser(*, recover: bool) -> etree.XMLParser:
    # A fresh parser per document: lxml parsers must not be shared between threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        recover=recover,
    )


def _html_parser() -> html.HTMLParser:
    return html.HTMLParser(
        no_network=True, huge_tree=False, remove_comments=True, remove_pis=True, default_doctype=False
    )


def check_entities(data: bytes | str, member: str) -> None:
    """Refuse a document whose DOCTYPE declares entities (billion laughs, external entities)."""
    head = data[:_PROLOG_BYTES]
    text = head if isinstance(head, str) else sniff_text(head)
    if not text or "<!" not in text:
        return
    match = _DOCTYPE_SUBSET_RE.search(text)
    if match and _ENTITY_DECL_RE.search(match.group(1)):
        raise IngestionError(ErrorCode.XML_BOMB, member=member[:200])


def parse_xml(data: bytes, member: str, fmt: str, *, recover: bool = False) -> etree._Element:
    """Parse untrusted XML; with `recover`, malformed markup is repaired rather than refused."""
    check_entities(data, member)
    try:
        root = etree.fromstring(data, _xml_parser(recover=False))
    except etree.XMLSyntaxError as exc:
        if "entit" in str(exc).lower() and ("loop" in str(exc).lower() or "amplif" in str(exc).lower()):
            raise IngestionError(ErrorCode.XML_BOMB, member=member[:200]) from None
        if not recover:
            raise _corrupt(fmt, member, exc) from None
        try:
            root = etree.fromstring(data, _xml_parser(recover=True))
        except (etree.XMLSyntaxError, ValueError) as exc2:
            raise _corrupt(fmt, member, exc2) from None
    except ValueError as exc:
        raise _corrupt(fmt, member, exc) from None
    if root is None:
        raise IngestionError(ErrorCode.CORRUPT_FILE, format=fmt, reason=f"{member[:100]}: empty XML")
    _check_parsed_dtd(root, member)
    return root


def parse_html(text: str, member: str, fmt: str) -> etree._Element:
    """Parse HTML (or XHTML that is not well-formed) from already decoded text."""
    check_entities(text, member)
    text = _XML_DECL_RE.sub("", text, count=1)
    if not text.strip():
        raise IngestionError(ErrorCode.CORRUPT_FILE, format=fmt, reason=f"{member[:100]}: empty document")
    try:
        root = html.document_fromstring(text, parser=_html_parser())
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as exc:
        raise _corrupt(fmt, member, exc) from None
    return root


def parse_xhtml(data: bytes, member: str, fmt: str) -> etree._Element:
    """EPUB content documents: strict XML first, then the forgiving HTML parser for broken markup."""
    check_entities(data, member)
    try:
        root = etree.fromstring(data, _xml_parser(recover=False))
        if root is not None:
            _check_parsed_dtd(root, member)
            return root
    except (etree.XMLSyntaxError, ValueError):
        pass
    return parse_html(decode_markup(data), member, fmt)


def decode_markup(data: bytes) -> str:
    """Decode XML/HTML bytes by BOM, then declared charset, then UTF-8, then cp1252."""
    from services.ingestion.extract.textdecode import declared_charset, decode_text

    charset = declared_charset(data[:4096])
    if charset:
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_text(data)


def _check_parsed_dtd(root: etree._Element, member: str) -> None:
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise IngestionError(ErrorCode.XML_BOMB, member=member[:200])


def _corrupt(fmt: str, member: str, exc: Exception) -> IngestionError:
    return IngestionError(ErrorCode.CORRUPT_FILE, format=fmt, reason=f"{member[:100]}: {str(exc)[:200]}")


def local(tag: object) -> str:
    """The local name of an element tag ('{ns}p' -> 'p'); '' for comments, PIs and entities."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].split(":")[-1].lower() if ("}" in tag or ":" in tag) else tag.lower()


def entity_text(node: etree._Entity) -> str:
    """The character an unexpanded entity reference stands for (&nbsp; -> NBSP); '' if unknown."""
    return html5.get(f"{node.name};", "")


def children(element: etree._Element, name: str) -> Iterator[etree._Element]:
    for child in element:
        if local(child.tag) == name:
            yield child


def first(element: etree._Element, name: str) -> etree._Element | None:
    return next(children(element, name), None)


def descendants(element: etree._Element, name: str) -> Iterator[etree._Element]:
    for node in element.iter():
        if local(node.tag) == name:
            yield node


_SPACE_RE = re.compile(r"[ \t\r\n\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


def plain_text(element: etree._Element) -> str:
    """All text under an element, entities resolved, whitespace collapsed."""
    parts: list[str] = []
    for node in element.iter():
        if isinstance(node, etree._Entity):
            parts.append(entity_text(node))
        elif isinstance(node.tag, str) and node.text:
            parts.append(node.text)
        if node is not element and node.tail:
            parts.append(node.tail)
    return collapse("".join(parts))


def collapse(text: str) -> str:
    return _SPACE_RE.sub(" ", text).strip()
