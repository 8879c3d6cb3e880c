"""Decide what kind of book a file is from its content.

Magic bytes and the inside of ZIP containers decide; the file name only breaks the tie between the
text formats (plain text, Markdown, HTML), which have no signature.
"""

from __future__ import annotations

import io
import re
import zipfile
from enum import StrEnum

from services.ingestion.errors import ErrorCode, IngestionError


class BookFormat(StrEnum):
    PDF = "pdf"
    EPUB = "epub"
    FB2 = "fb2"
    DOCX = "docx"
    TXT = "txt"
    MARKDOWN = "markdown"
    HTML = "html"


# Signatures of things people send that we cannot read; the name goes to the user message.
_FOREIGN_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"II*\x00", "image/tiff"),
    (0, b"MM\x00*", "image/tiff"),
    (0, b"BM", "image/bmp"),
    (0, b"AT&TFORM", "djvu"),
    (60, b"BOOKMOBI", "mobi"),
    (60, b"TEXtREAd", "mobi"),
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole2"),  # .doc/.xls, and encrypted Office files
    (0, b"ITSF", "chm"),
    (0, b"Rar!\x1a\x07", "rar"),
    (0, b"7z\xbc\xaf\x27\x1c", "7z"),
    (0, b"\x1f\x8b", "gzip"),
    (0, b"BZh", "bzip2"),
    (0, b"\xfd7zXZ\x00", "xz"),
    (0, b"\x28\xb5\x2f\xfd", "zstd"),
    (0, b"\x7fELF", "executable"),
    (0, b"MZ", "executable"),
    (0, b"ID3", "audio"),
    (0, b"OggS", "audio"),
    (0, b"fLaC", "audio"),
    (4, b"ftyp", "video"),
    (0, b"\x1a\x45\xdf\xa3", "video"),
)

# Text-based formats we do not read either.
_FOREIGN_TEXT_MAGIC: tuple[tuple[bytes, str], ...] = ((b"{\\rtf", "rtf"), (b"%!PS", "postscript"))

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_MARKDOWN_NAMES = (".md", ".markdown", ".mdown", ".mkd", ".mkdn")
_HTML_NAMES = (".html", ".htm", ".xhtml", ".xht")
_HEAD = 8192

_XML_ROOT_RE = re.compile(
    r"^\s*(?:<\?xml[^>]*\?>\s*)?(?:(?:<!--.*?-->|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>|<\?[^>]*\?>)\s*)*<([A-Za-z_][\w:.\-]*)",
    re.DOTALL,
)
_STRONG_HTML_RE = re.compile(r"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]", re.IGNORECASE)
_WEAK_HTML_RE = re.compile(r"<(?:p|div|br|h[1-6]|table|span|a\s+href|ul|ol|li)\b[^>]*>", re.IGNORECASE)
_MARKDOWN_HEADING_RE = re.compile(r"^ {0,3}#{1,6}[ \t]+\S", re.MULTILINE)


def detect_format(data: bytes, filename: str | None = None) -> BookFormat:
    """Return the format of `data`; raise IngestionError(empty_file | unsupported_type | corrupt_file)."""
    if not data or not data.strip(b" \t\r\n\f\v\x00") or data in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        raise IngestionError(ErrorCode.EMPTY_FILE)
    head = data[:_HEAD]
    if b"%PDF-" in data[:1024]:
        return BookFormat.PDF
    if head.startswith(_ZIP_MAGIC):
        return _detect_zip(data)
    text = sniff_text(head)
    if text is None:
        # Short signatures ("BM", "MZ") are only trusted once the bytes are known not to be text.
        for offset, magic, kind in _FOREIGN_MAGIC:
            if head[offset : offset + len(magic)] == magic:
                raise IngestionError(ErrorCode.UNSUPPORTED_TYPE, detected=kind)
        raise IngestionError(ErrorCode.UNSUPPORTED_TYPE, detected="binary")
    for magic, kind in _FOREIGN_TEXT_MAGIC:
        if head.startswith(magic):
            raise IngestionError(ErrorCode.UNSUPPORTED_TYPE, detected=kind)
    return _detect_text(text, (filename or "").lower())


def zip_kind(names: list[str]) -> BookFormat | str:
    """Classify a ZIP by its member names: a BookFormat, or a short name of what else it is."""
    lowered = {name.lower(): name for name in names}
    if "meta-inf/container.xml" in lowered or ("mimetype" in lowered and _has_opf(lowered)):
        return BookFormat.EPUB
    if "word/document.xml" in lowered or ("[content_types].xml" in lowered and "_rels/.rels" in lowered):
        if any(name.startswith("xl/") for name in lowered):
            return "xlsx"
        if any(name.startswith("ppt/") for name in lowered):
            return "pptx"
        return BookFormat.DOCX
    fb2 = [name for name in lowered if name.endswith(".fb2")]
    if fb2:
        return BookFormat.FB2
    if "mimetype" in lowered:
        return "opendocument"
    return "zip"


def _has_opf(lowered: dict[str, str]) -> bool:
    return any(name.endswith(".opf") for name in lowered)


def _detect_zip(data: bytes) -> BookFormat:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise IngestionError(ErrorCode.CORRUPT_FILE, format="zip", reason=f"zip: {exc}") from None
    kind = zip_kind(names)
    if isinstance(kind, BookFormat):
        return kind
    raise IngestionError(ErrorCode.UNSUPPORTED_TYPE, detected=kind)


def sniff_text(head: bytes) -> str | None:
    """Decode the start of a file well enough to classify it; None when it looks binary."""
    if head.startswith(b"\xef\xbb\xbf"):
        return head[3:].decode("utf-8", errors="ignore")
    for bom, codec in ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be")):
        if head.startswith(bom):
            return head[4:].decode(codec, errors="ignore")
    if head.startswith(b"\xff\xfe"):
        return head[2:].decode("utf-16-le", errors="ignore")
    if head.startswith(b"\xfe\xff"):
        return head[2:].decode("utf-16-be", errors="ignore")
    utf16 = utf16_without_bom(head)
    if utf16:
        return head.decode(utf16, errors="ignore")
    if b"\x00" in head:
        return None
    controls = sum(1 for byte in head if byte < 32 and byte not in b"\t\n\r\f\v\x1b")
    if controls > max(2, len(head) // 100):
        return None
    return head.decode("latin-1")


def utf16_without_bom(head: bytes) -> str | None:
    """Spot UTF-16 text without a BOM: one byte of each pair is almost always 0 (Latin) or a few
    block numbers (0x04 for Cyrillic), and the other byte is rarely 0."""
    sample = head[: 4096 & ~1]
    if len(sample) < 16 or b"\x00" not in sample:
        return None
    half = len(sample) // 2
    for high, low, codec in (
        (sample[1::2], sample[0::2], "utf-16-le"),
        (sample[0::2], sample[1::2], "utf-16-be"),
    ):
        zeros = high.count(0)
        if zeros < 0.05 * half or low.count(0) > 0.02 * half:
            continue
        counts = sorted((high.count(value) for value in set(high)), reverse=True)
        if zeros > 0.3 * half or sum(counts[:2]) > 0.9 * half:
            return codec
    return None


def _detect_text(text: str, name: str) -> BookFormat:
    match = _XML_ROOT_RE.match(text)
    if match:
        root = match.group(1).split(":")[-1]
        if root == "FictionBook":
            return BookFormat.FB2
        if root.lower() == "html":
            return BookFormat.HTML
    if _STRONG_HTML_RE.search(text):
        return BookFormat.HTML
    if name.endswith(_HTML_NAMES):
        return BookFormat.HTML
    if name.endswith(_MARKDOWN_NAMES):
        return BookFormat.MARKDOWN
    if name.endswith(".txt"):
        return BookFormat.TXT
    if match and text.lstrip().startswith("<") and _WEAK_HTML_RE.search(text):
        return BookFormat.HTML
    if match and text.lstrip().startswith("<?xml"):
        raise IngestionError(ErrorCode.UNSUPPORTED_TYPE, detected="xml")
    if len(_MARKDOWN_HEADING_RE.findall(text)) >= 2:
        return BookFormat.MARKDOWN
    return BookFormat.TXT
