"""PDF: one section per page (1-based), chapter from the outline; refuses active content.

pypdfium2 (PDFium, the engine in Chrome) reads the text: it is fast, tolerant of broken files and
handles every standard encryption. pypdf inspects the object structure for active content
(JavaScript, launch actions, embedded files), which PDFium's public API does not expose completely.
"""

from __future__ import annotations

import bisect
import io
import logging
import re
from typing import Any

import pypdf
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

from services.ingestion.detect import BookFormat
from services.ingestion.errors import ErrorCode, IngestionError
from services.ingestion.extract.language import pick_language
from services.ingestion.extract.model import ExtractedBook, ExtractLimits, Section
from services.ingestion.extract.structure import clean_text, clean_title, title_from_filename

log = logging.getLogger(__name__)

_FMT = BookFormat.PDF.value
_MAX_OUTLINE = 10_000
_MAX_ANNOTS = 20_000
_MAX_FIELDS = 20_000
# Actions that run code or open something outside the document. Links (URI, GoTo, GoToR) and
# form submission need a click on something visible and are left alone.
_ACTIVE_ACTIONS = {
    "/JavaScript": "javascript",
    "/Launch": "launch",
    "/GoToE": "embedded_files",
    "/RichMediaExecute": "rich_media",
}
# Fallback when pypdf cannot parse the file at all: raw name tokens. Conservative (it can match
# bytes inside compressed streams), which is the right side to err on for a file already broken.
_RAW_ACTIVE_RE = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFiles?|FileAttachment|RichMedia)\b")
_NAME_ESCAPE_RE = re.compile(rb"/[!-~]*?#[0-9A-Fa-f]{2}")
_RAW_LANG_RE = re.compile(rb"/Lang\s*\(([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})?)\)")
_RAW_FEATURES = {
    "JS": "javascript",
    "JavaScript": "javascript",
    "Launch": "launch",
    "RichMedia": "rich_media",
}
_MEANINGFUL_CHARS = 16  # a page with fewer non-space characters has no real text
_JUNK_TITLE_RE = re.compile(
    r"^(untitled|microsoft (word|powerpoint) - .*|document\d*|slide \d+|\W*)$|\.(docx?|pdf|tex|dvi|indd|qxd|rtf)$",
    re.IGNORECASE,
)
_LINE_END_RE = re.compile(r"[.!?…:;»\"”)\]]$")


def read_pdf(
    data: bytes, filename: str | None, *, password: str | None, allow_active: bool, limits: ExtractLimits
) -> ExtractedBook:
    document, used_password = _open(data, password)
    warnings: list[str] = []
    try:
        page_count = len(document)
        if page_count > limits.max_pages:
            raise IngestionError(ErrorCode.TOO_MANY_PAGES, pages=page_count, limit=limits.max_pages)
        features, reader = _inspect(data, used_password)
        if features:
            if not allow_active:
                raise IngestionError(ErrorCode.PDF_ACTIVE_CONTENT, features=sorted(features))
            warnings.append("active content ignored: " + ", ".join(sorted(features)))
        chapters = _outline(document)
        sections, meaningful = _pages(document, page_count, chapters)
        metadata = _metadata(document)
    finally:
        document.close()
    if meaningful == 0 or (page_count >= 10 and meaningful < 0.05 * page_count):
        raise IngestionError(ErrorCode.NO_TEXT_LAYER, pages=page_count)
    declared_language = _catalog_language(reader, data)
    return ExtractedBook(
        title=clean_title(metadata.get("Title")) or title_from_filename(filename),
        author=clean_title(metadata.get("Author")) or None,
        language=pick_language(declared_language, "\n\n".join(s.text for s in sections)),
        format=BookFormat.PDF,
        pages=page_count,
        sections=sections,
        warnings=warnings,
    )


def check_pdf_password(data: bytes, password: str | None) -> None:
    """Raise IngestionError(password_required | wrong_password) when the PDF does not open without a
    password, or with the one given. Opens the document only, reading no page."""
    document, _ = _open(data, password)
    document.close()


def _open(data: bytes, password: str | None) -> tuple[pdfium.PdfDocument, str | None]:
    """Open with PDFium; a password is only demanded when the empty user password does not work."""
    attempts: list[str | None] = [password, None] if password else [None]
    error: pdfium.PdfiumError | None = None
    for attempt in attempts:
        try:
            return pdfium.PdfDocument(data, password=attempt), attempt
        except pdfium.PdfiumError as exc:
            error = exc
            if exc.err_code != pdfium_c.FPDF_ERR_PASSWORD:
                break
    assert error is not None
    if error.err_code == pdfium_c.FPDF_ERR_PASSWORD:
        raise IngestionError(ErrorCode.WRONG_PASSWORD if password else ErrorCode.PASSWORD_REQUIRED) from None
    if error.err_code == pdfium_c.FPDF_ERR_SECURITY:
        raise IngestionError(
            ErrorCode.CORRUPT_FILE, format=_FMT, reason="unsupported security handler"
        ) from None
    raise IngestionError(ErrorCode.CORRUPT_FILE, format=_FMT, reason=f"pdfium: {error}") from None


def _inspect(data: bytes, password: str | None) -> tuple[set[str], pypdf.PdfReader | None]:
    """Active features (javascript, launch, embedded_files, rich_media) and pypdf's reader.

    A file without object streams or encryption keeps every dictionary in plain bytes, so when no
    active name (nor any #-escaped name) appears in them, it is clean and pypdf is not needed.
    Otherwise pypdf in strict mode first: it skips validating every cross-reference entry, which is most of
    its load time on big files; the lenient mode is the retry for files strict mode rejects.
    """
    if (
        b"/ObjStm" not in data
        and b"/Encrypt" not in data
        and _RAW_ACTIVE_RE.search(data) is None
        and _NAME_ESCAPE_RE.search(data) is None
    ):
        return set(), None
    for strict in (True, False):
        try:
            reader = pypdf.PdfReader(io.BytesIO(data), strict=strict)
            if reader.is_encrypted and not reader.decrypt(password or ""):
                break
            return _ActiveScan(reader).run(), reader
        except Exception as exc:  # pypdf raises many types on broken files; PDFium already opened it
            log.debug("pypdf (strict=%s) cannot walk the structure: %s", strict, exc)
    features: set[str] = set()
    for match in _RAW_ACTIVE_RE.finditer(data):
        features.add(_RAW_FEATURES.get(match.group(1).decode(), "embedded_files"))
    return features, None


class _ActiveScan:
    """Walks the places a viewer would run something from: document and page open/close actions,
    annotation and form-field actions, the JavaScript and EmbeddedFiles name trees, outline items."""

    def __init__(self, reader: pypdf.PdfReader) -> None:
        self._reader = reader
        self.features: set[str] = set()
        self._seen: set[int] = set()

    def run(self) -> set[str]:
        root = _resolve(self._reader.trailer["/Root"])
        if not isinstance(root, DictionaryObject):
            return self.features
        self._action(root.get("/OpenAction"))
        self._additional(root.get("/AA"))
        names = _resolve(root.get("/Names"))
        if isinstance(names, DictionaryObject):
            if "/JavaScript" in names:
                self.features.add("javascript")
            if "/EmbeddedFiles" in names:
                self.features.add("embedded_files")
        self._fields(_resolve(root.get("/AcroForm")))
        self._outline(_resolve(root.get("/Outlines")))
        annots = 0
        for page in self._reader.pages:
            self._additional(page.get("/AA"))
            for annot in _resolve(page.get("/Annots")) or []:
                annots += 1
                if annots > _MAX_ANNOTS:
                    return self.features
                annot = _resolve(annot)
                if not isinstance(annot, DictionaryObject):
                    continue
                subtype = annot.get("/Subtype")
                if subtype == "/FileAttachment":
                    self.features.add("embedded_files")
                elif subtype in ("/RichMedia", "/Screen"):
                    self.features.add("rich_media")
                self._action(annot.get("/A"))
                self._additional(annot.get("/AA"))
        return self.features

    def _action(self, action: Any, depth: int = 0) -> None:
        action = _resolve(action)
        if not isinstance(action, DictionaryObject) or depth > 32:
            return
        if not self._first_visit(action):
            return
        kind = action.get("/S")
        if kind in _ACTIVE_ACTIONS:
            self.features.add(_ACTIVE_ACTIONS[kind])
        if "/JS" in action:
            self.features.add("javascript")
        following = _resolve(action.get("/Next"))
        for item in following if isinstance(following, ArrayObject) else [following]:
            self._action(item, depth + 1)

    def _additional(self, actions: Any) -> None:
        actions = _resolve(actions)
        if isinstance(actions, DictionaryObject):
            for value in actions.values():
                self._action(value)

    def _fields(self, form: Any) -> None:
        if not isinstance(form, DictionaryObject):
            return
        stack = list(_resolve(form.get("/Fields")) or [])
        visited = 0
        while stack and visited < _MAX_FIELDS:
            field = _resolve(stack.pop())
            visited += 1
            if not isinstance(field, DictionaryObject) or not self._first_visit(field):
                continue
            self._action(field.get("/A"))
            self._additional(field.get("/AA"))
            stack.extend(_resolve(field.get("/Kids")) or [])

    def _outline(self, outlines: Any) -> None:
        item = _resolve(outlines.get("/First")) if isinstance(outlines, DictionaryObject) else None
        stack = [item] if item is not None else []
        visited = 0
        while stack and visited < _MAX_OUTLINE:
            node = _resolve(stack.pop())
            visited += 1
            if not isinstance(node, DictionaryObject) or not self._first_visit(node):
                continue
            self._action(node.get("/A"))
            for key in ("/Next", "/First"):
                if key in node:
                    stack.append(node[key])

    def _first_visit(self, obj: DictionaryObject) -> bool:
        reference = getattr(obj, "indirect_reference", None)
        key = id(obj) if reference is None else -1 - reference.idnum
        if key in self._seen:
            return False
        self._seen.add(key)
        return True


def _resolve(obj: Any) -> Any:
    for _ in range(8):
        if isinstance(obj, IndirectObject):
            obj = obj.get_object()
        else:
            break
    return obj


def _outline(document: pdfium.PdfDocument) -> list[tuple[int, str, int]]:
    """(0-based page, title, level) for each outline item with a destination, in page order."""
    items: list[tuple[int, str, int]] = []
    try:
        for order, bookmark in enumerate(document.get_toc(max_depth=8)):
            if order >= _MAX_OUTLINE:
                break
            title = clean_title(bookmark.get_title())
            destination = bookmark.get_dest()
            page = destination.get_index() if destination is not None else None
            if title and page is not None:
                items.append((page, title, bookmark.level + 1))
    except (pdfium.PdfiumError, ValueError, OSError) as exc:
        log.debug("unreadable outline: %s", exc)
    items.sort(key=lambda item: item[0])  # stable: items on one page keep outline order
    return items


def _pages(
    document: pdfium.PdfDocument, page_count: int, chapters: list[tuple[int, str, int]]
) -> tuple[list[Section], int]:
    starts = [page for page, _, _ in chapters]
    sections: list[Section] = []
    meaningful = 0
    for index in range(page_count):
        try:
            page = document[index]
            try:
                textpage = page.get_textpage()
                try:
                    raw = textpage.get_text_bounded()
                finally:
                    textpage.close()
            finally:
                page.close()
        except pdfium.PdfiumError as exc:
            log.debug("page %d unreadable: %s", index + 1, exc)
            continue
        text = page_text(raw)
        if not text:
            continue
        if len(text) - text.count(" ") - text.count("\n") >= _MEANINGFUL_CHARS:
            meaningful += 1
        position = bisect.bisect_right(starts, index) - 1
        chapter, level = (chapters[position][1], chapters[position][2]) if position >= 0 else (None, 0)
        sections.append(Section(text, index + 1, chapter, level))
    return sections, meaningful


def page_text(raw: str) -> str:
    """PDFium page text to paragraphs: soft hyphens joined, short lines ending a sentence end a paragraph."""
    raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    # PDFium marks a hyphen it removed at a line break with \x02: "Übungsauf\x02gaben".
    raw = re.sub(r"\x02(?=[a-zà-ÿа-яё])", "", raw)
    raw = raw.replace("\x02", "-")
    lines = [" ".join(line.split()) for line in clean_text(raw).split("\n")]
    lines = [line for line in lines if line]
    if not lines:
        return ""
    width = sorted(len(line) for line in lines)[int(len(lines) * 0.9)]
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        paragraphs[-1].append(line)
        if width >= 30 and len(line) < 0.75 * width and _LINE_END_RE.search(line):
            paragraphs.append([])
    return "\n\n".join("\n".join(paragraph) for paragraph in paragraphs if paragraph)


def _metadata(document: pdfium.PdfDocument) -> dict[str, str]:
    try:
        metadata = document.get_metadata_dict(skip_empty=True)
    except (pdfium.PdfiumError, ValueError, UnicodeDecodeError):
        return {}
    title = metadata.get("Title", "").strip()
    if title and _JUNK_TITLE_RE.search(title):
        metadata.pop("Title")
    return metadata


def _catalog_language(reader: pypdf.PdfReader | None, data: bytes) -> str | None:
    if reader is None:
        match = _RAW_LANG_RE.search(data)
        return match.group(1).decode("ascii") if match else None
    try:
        root = _resolve(reader.trailer["/Root"])
        value = _resolve(root.get("/Lang")) if isinstance(root, DictionaryObject) else None
        return str(value) if value else None
    except Exception:  # metadata only; never worth failing the book over
        return None
