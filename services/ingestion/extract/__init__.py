"""Reading books: bytes in, `ExtractedBook` (text in reading order with its structure) out.

Pure functions, no I/O besides the bytes given; safe on hostile input: every problem with the input
ends in `IngestionError` with a stable code (see services/ingestion/errors.py and docs/EXTRACTION.md).
CPU-bound and synchronous: call it from a worker thread or process, not the event loop.
"""

from __future__ import annotations

import logging

from services.ingestion.detect import BookFormat, detect_format
from services.ingestion.errors import ErrorCode, IngestionError
from services.ingestion.extract.docx import read_docx
from services.ingestion.extract.epub import read_epub
from services.ingestion.extract.fb2 import read_fb2
from services.ingestion.extract.html import read_html
from services.ingestion.extract.markdown import read_markdown
from services.ingestion.extract.model import DEFAULT_LIMITS, ExtractedBook, ExtractLimits, Section
from services.ingestion.extract.pdf import check_pdf_password, read_pdf
from services.ingestion.extract.txt import read_txt

__all__ = [
    "DEFAULT_LIMITS",
    "BookFormat",
    "ExtractLimits",
    "ExtractedBook",
    "IngestionError",
    "Section",
    "check_password",
    "detect_format",
    "extract",
]

log = logging.getLogger(__name__)


def extract(
    data: bytes,
    filename: str | None = None,
    *,
    password: str | None = None,
    allow_active_pdf: bool = False,
    limits: ExtractLimits | None = None,
    max_bytes: int | None = None,
    max_pages: int | None = None,
) -> ExtractedBook:
    """Detect the format of `data` and read it.

    `filename` only helps tell plain text, Markdown and HTML apart and serves as a title fallback.
    `password` opens encrypted PDFs; `allow_active_pdf` reads PDFs with JavaScript, launch actions or
    embedded files (text only) instead of refusing them. `max_bytes`/`max_pages` override `limits`.
    """
    limits = (limits or DEFAULT_LIMITS).replace(max_bytes=max_bytes, max_pages=max_pages)
    if len(data) > limits.max_bytes:
        raise IngestionError(ErrorCode.TOO_LARGE, size=len(data), limit=limits.max_bytes)
    fmt = detect_format(data, filename)
    try:
        book = _read(fmt, data, filename, password=password, allow_active_pdf=allow_active_pdf, limits=limits)
    except IngestionError:
        raise
    except MemoryError:
        raise IngestionError(ErrorCode.TOO_LARGE, size=len(data), limit=limits.max_bytes) from None
    except RecursionError:
        raise IngestionError(ErrorCode.CORRUPT_FILE, format=fmt.value, reason="nesting too deep") from None
    except Exception as exc:
        # A library tripped over input we did not anticipate. The user gets corrupt_file; the log
        # keeps the traceback, since this may as well be our bug.
        log.exception("unexpected error reading a %s file", fmt.value)
        raise IngestionError(
            ErrorCode.CORRUPT_FILE, format=fmt.value, reason=f"unexpected {type(exc).__name__}: {exc}"[:300]
        ) from exc
    if not any(section.text.strip() for section in book.sections):
        raise IngestionError(ErrorCode.NO_TEXT, format=fmt.value)
    return book


def check_password(data: bytes, filename: str | None, password: str | None) -> None:
    """Raise IngestionError(password_required | wrong_password) when `data` is a PDF that needs a
    password it was not given, or a different one; any other file passes. Cheap: reads no page."""
    if detect_format(data, filename) is BookFormat.PDF:
        check_pdf_password(data, password)


def _read(
    fmt: BookFormat,
    data: bytes,
    filename: str | None,
    *,
    password: str | None,
    allow_active_pdf: bool,
    limits: ExtractLimits,
) -> ExtractedBook:
    if fmt is BookFormat.PDF:
        return read_pdf(data, filename, password=password, allow_active=allow_active_pdf, limits=limits)
    if fmt is BookFormat.EPUB:
        return read_epub(data, filename, limits)
    if fmt is BookFormat.FB2:
        return read_fb2(data, filename, limits)
    if fmt is BookFormat.DOCX:
        return read_docx(data, filename, limits)
    if fmt is BookFormat.MARKDOWN:
        return read_markdown(data, filename)
    if fmt is BookFormat.HTML:
        return read_html(data, filename)
    return read_txt(data, filename)
