"""EPUB 2 and 3: text in spine order, chapters from the navigation document (EPUB 3) or the NCX
(EPUB 2), split at the anchors the table of contents points to; without a table of contents, h1-h3
headings start chapters. Metadata from the package document."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from lxml import etree

from services.ingestion.detect import BookFormat
from services.ingestion.errors import ErrorCode, IngestionError
from services.ingestion.extract.htmltext import html_blocks
from services.ingestion.extract.language import pick_language
from services.ingestion.extract.model import ExtractedBook, ExtractLimits
from services.ingestion.extract.safezip import SafeZip, resolve
from services.ingestion.extract.structure import SPLIT_LEVEL, SectionBuilder, clean_title, title_from_filename
from services.ingestion.extract.xmlsafe import (
    children,
    descendants,
    first,
    local,
    parse_xhtml,
    parse_xml,
    plain_text,
)

_FMT = BookFormat.EPUB.value
_HTML_TYPES = frozenset(
    ("application/xhtml+xml", "text/html", "application/xml", "text/xml", "text/x-oeb1-document")
)
_FONT_OBFUSCATION = frozenset(("http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC"))
_EPUB_TYPE = "{http://www.idpf.org/2007/ops}type"
_MAX_TOC_ENTRIES = 20_000


@dataclass(frozen=True, slots=True)
class _Item:
    path: str
    media_type: str
    properties: frozenset[str]


@dataclass(frozen=True, slots=True)
class _TocEntry:
    path: str
    fragment: str | None
    title: str
    level: int


def read_epub(data: bytes, filename: str | None, limits: ExtractLimits) -> ExtractedBook:
    warnings: list[str] = []
    with SafeZip(data, limits, _FMT) as archive:
        _refuse_drm(archive)
        opf_path = _package_path(archive)
        package = parse_xml(archive.read(opf_path), opf_path, _FMT, recover=True)
        opf_dir = posixpath.dirname(opf_path)
        manifest = _manifest(package, opf_dir)
        spine, ncx_id = _spine(package, manifest)
        nav = next((item for item in manifest.values() if "nav" in item.properties), None)
        toc = _nav_toc(archive, nav) if nav else []
        if not toc and ncx_id in manifest:
            toc = _ncx_toc(archive, manifest[ncx_id].path)
        if not toc:
            ncx = next(
                (item for item in manifest.values() if item.media_type == "application/x-dtbncx+xml"), None
            )
            toc = _ncx_toc(archive, ncx.path) if ncx else []
        builder = SectionBuilder()
        by_path: dict[str, list[_TocEntry]] = {}
        for entry in toc:
            by_path.setdefault(entry.path, []).append(entry)
        first_heading: str | None = None
        for item in spine:
            if item.media_type not in _HTML_TYPES or (nav is not None and item.path == nav.path and toc):
                continue
            member = archive.find(item.path)
            if member is None:
                warnings.append(f"missing spine document {item.path[:100]}")
                continue
            content = archive.read(member)  # a damaged archive fails the whole book
            try:
                root = parse_xhtml(content, member, _FMT)
            except IngestionError as exc:
                if exc.code != ErrorCode.CORRUPT_FILE:
                    raise
                warnings.append(f"unreadable spine document {item.path[:100]}")
                continue
            heading = _read_document(root, by_path.get(item.path, []), builder, use_toc=bool(toc))
            first_heading = first_heading or heading
    sections = builder.build()
    if not sections:
        raise IngestionError(ErrorCode.NO_TEXT, format=_FMT)
    meta = _metadata(package)
    return ExtractedBook(
        title=clean_title(meta.get("title") or first_heading or title_from_filename(filename)) or None,
        author=clean_title(meta.get("creator")) or None,
        language=pick_language(meta.get("language"), "\n\n".join(s.text for s in sections)),
        format=BookFormat.EPUB,
        pages=None,
        sections=sections,
        warnings=warnings,
    )


def _read_document(
    root: etree._Element, entries: list[_TocEntry], builder: SectionBuilder, *, use_toc: bool
) -> str | None:
    """Add one content document to the builder; returns its first heading (a title fallback)."""
    by_fragment = {entry.fragment: entry for entry in entries if entry.fragment}
    blocks = html_blocks(root, frozenset(by_fragment))
    headings = [block for block in blocks if block.kind == "h"]
    first_heading = headings[0].text if headings else None
    if not use_toc:
        for block in blocks:
            if block.kind == "h":
                builder.heading(block.text, block.level)
            elif block.kind == "p":
                builder.paragraph(block.text)
        return first_heading
    whole = [entry for entry in entries if not entry.fragment]
    if whole:
        builder.chapter(whole[-1].title, whole[-1].level)
    elif not entries:
        top = min(headings, key=lambda block: block.level) if headings else None
        if top is not None and top.level <= SPLIT_LEVEL:
            # Not in the table of contents but titled: the first top heading names it.
            builder.chapter(top.text, 1)
        # Otherwise the document continues the previous chapter (books split into several files).
    for block in blocks:
        if block.kind == "anchor":
            entry = by_fragment[block.text]
            builder.chapter(entry.title, entry.level)
        else:
            builder.paragraph(block.text)
    return first_heading


def _refuse_drm(archive: SafeZip) -> None:
    member = archive.find("META-INF/encryption.xml")
    if member is None:
        return
    root = parse_xml(archive.read(member), member, _FMT, recover=True)
    for data in descendants(root, "encrypteddata"):
        method = next(descendants(data, "encryptionmethod"), None)
        algorithm = method.get("Algorithm", "") if method is not None else ""
        if algorithm in _FONT_OBFUSCATION:
            continue  # font mangling, not content encryption
        reference = next(descendants(data, "cipherreference"), None)
        uri = (reference.get("URI", "") if reference is not None else "").lower()
        if not uri.endswith((".otf", ".ttf", ".woff", ".woff2")):
            raise IngestionError(ErrorCode.UNSUPPORTED_TYPE, detected="epub_drm")


def _package_path(archive: SafeZip) -> str:
    container = archive.find("META-INF/container.xml")
    if container is not None:
        try:
            root = parse_xml(archive.read(container), container, _FMT, recover=True)
            for rootfile in descendants(root, "rootfile"):
                path = rootfile.get("full-path") or ""
                media_type = rootfile.get("media-type") or "application/oebps-package+xml"
                found = archive.find(path) if path and "oebps-package" in media_type else None
                if found:
                    return found
        except IngestionError as exc:
            if exc.code != ErrorCode.CORRUPT_FILE:
                raise
    candidates = sorted(name for name in archive.names if name.lower().endswith(".opf"))
    if not candidates:
        raise IngestionError(ErrorCode.CORRUPT_FILE, format=_FMT, reason="no package document")
    return candidates[0]


def _manifest(package: etree._Element, opf_dir: str) -> dict[str, _Item]:
    manifest: dict[str, _Item] = {}
    section = first(package, "manifest")
    if section is None:
        return manifest
    for item in children(section, "item"):
        item_id, href = item.get("id"), item.get("href")
        path = resolve(opf_dir, href) if href else None
        if item_id and path:
            manifest.setdefault(
                item_id,
                _Item(
                    path,
                    (item.get("media-type") or "").lower(),
                    frozenset((item.get("properties") or "").split()),
                ),
            )
    return manifest


def _spine(package: etree._Element, manifest: dict[str, _Item]) -> tuple[list[_Item], str | None]:
    spine = first(package, "spine")
    if spine is None:
        items = [item for item in manifest.values() if item.media_type in _HTML_TYPES]
        return items, None
    items = [
        manifest[ref.get("idref", "")] for ref in children(spine, "itemref") if ref.get("idref") in manifest
    ]
    if not items:
        items = [item for item in manifest.values() if item.media_type in _HTML_TYPES]
    return items, spine.get("toc")


def _nav_toc(archive: SafeZip, nav: _Item) -> list[_TocEntry]:
    member = archive.find(nav.path)
    if member is None:
        return []
    try:
        root = parse_xhtml(archive.read(member), member, _FMT)
    except IngestionError as exc:
        if exc.code != ErrorCode.CORRUPT_FILE:
            raise
        return []
    navs = list(descendants(root, "nav"))
    toc_nav = next(
        (node for node in navs if "toc" in (node.get(_EPUB_TYPE) or node.get("epub:type") or "").split()),
        navs[0] if navs else None,
    )
    if toc_nav is None:
        return []
    entries: list[_TocEntry] = []
    top = next((child for child in toc_nav.iter() if local(child.tag) in ("ol", "ul")), None)
    if top is not None:
        _nav_list(top, posixpath.dirname(nav.path), 1, entries)
    return entries


def _nav_list(listing: etree._Element, base: str, level: int, entries: list[_TocEntry]) -> None:
    for item in listing:
        if len(entries) >= _MAX_TOC_ENTRIES:
            return
        if local(item.tag) in ("ol", "ul"):  # a list nested without its <li>, seen in the wild
            _nav_list(item, base, level + 1, entries)
            continue
        if local(item.tag) != "li":
            continue
        link = next((node for node in item if local(node.tag) in ("a", "span")), None)
        if link is not None and local(link.tag) == "a":
            _add_entry(entries, base, link.get("href") or "", plain_text(link), level)
        for child in item:
            if local(child.tag) in ("ol", "ul"):
                _nav_list(child, base, level + 1, entries)


def _ncx_toc(archive: SafeZip, path: str) -> list[_TocEntry]:
    member = archive.find(path)
    if member is None:
        return []
    try:
        root = parse_xml(archive.read(member), member, _FMT, recover=True)
    except IngestionError as exc:
        if exc.code != ErrorCode.CORRUPT_FILE:
            raise
        return []
    nav_map = next(descendants(root, "navmap"), None)
    entries: list[_TocEntry] = []
    if nav_map is not None:
        _ncx_points(nav_map, posixpath.dirname(path), 1, entries)
    return entries


def _ncx_points(parent: etree._Element, base: str, level: int, entries: list[_TocEntry]) -> None:
    for point in children(parent, "navpoint"):
        if len(entries) >= _MAX_TOC_ENTRIES:
            return
        label = first(point, "navlabel")
        content = first(point, "content")
        if label is not None and content is not None:
            _add_entry(entries, base, content.get("src") or "", plain_text(label), level)
        _ncx_points(point, base, level + 1, entries)


def _add_entry(entries: list[_TocEntry], base: str, href: str, title: str, level: int) -> None:
    path = resolve(base, href)
    title = clean_title(title)
    if path and title:
        fragment = href.split("#", 1)[1] if "#" in href else None
        entries.append(_TocEntry(path, fragment or None, title, level))


def _metadata(package: etree._Element) -> dict[str, str]:
    meta: dict[str, str] = {}
    metadata = first(package, "metadata")
    if metadata is None:
        return meta
    creators = []
    for node in metadata.iter():
        name = local(node.tag)
        text = plain_text(node) if name in ("title", "creator", "language") else ""
        if not text:
            continue
        if name == "creator":
            creators.append(text)
        else:
            meta.setdefault(name, text)
    if creators:
        meta["creator"] = ", ".join(dict.fromkeys(creators[:3]))
    return meta
