"""The CPU-heavy half of ingestion: read a stored file and cut it into chunks.

Runs in a worker process (or a thread), never on the event loop, so it takes and returns plain,
picklable values: a path in, a `ReadResult` out. A bad file raises `IngestionError`, which pickles.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from services.search.chunking import Chunk


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """What the reader may do with one file; built from settings by the service."""

    allow_active_pdf: bool = False
    max_bytes: int | None = None
    max_pages: int | None = None


@dataclass(slots=True)
class ReadResult:
    title: str | None
    author: str | None
    language: str | None
    format: str
    pages: int | None
    chapters: int
    chars: int
    chunks: list[Chunk]
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def read_book(path: str, file_name: str, password: str | None, options: ReadOptions) -> ReadResult:
    """Extract the book at `path` and chunk it; raises IngestionError for input it cannot read."""
    from services.ingestion.extract import extract
    from services.search.chunking import chunk_book

    started = time.perf_counter()
    data = Path(path).read_bytes()
    book = extract(
        data,
        file_name,
        password=password,
        allow_active_pdf=options.allow_active_pdf,
        max_bytes=options.max_bytes,
        max_pages=options.max_pages,
    )
    del data
    read_done = time.perf_counter()
    chunks = chunk_book(book)
    chunked = time.perf_counter()
    if not chunks:
        from services.ingestion.errors import ErrorCode, IngestionError

        raise IngestionError(ErrorCode.NO_TEXT, format=str(book.format))
    return ReadResult(
        title=book.title,
        author=book.author,
        language=book.language or _guess_language(book.text[:20_000]),
        format=str(book.format),
        pages=book.pages,
        chapters=book.chapters,
        chars=book.chars,
        chunks=chunks,
        timings={"reading": read_done - started, "chunking": chunked - read_done},
        warnings=list(book.warnings)[:20],
    )


@dataclass(frozen=True, slots=True)
class CopyCheck:
    """The titles a book takes from two file names when the file itself names none: this reader's and
    the first uploader's."""

    own_title: str
    source_title: str


def check_copy(path: str, file_name: str, password: str | None, source_file_name: str) -> CopyCheck:
    """For a book copied from another user's identical file: raises IngestionError(password_required |
    wrong_password) unless the stored file opens with this reader's own password (a protected PDF; other
    files open for anyone), and gives the titles both file names would make. Cheap: reads no page."""
    from services.ingestion.extract import check_password
    from services.ingestion.extract.structure import title_from_filename

    check_password(Path(path).read_bytes(), file_name, password)
    return CopyCheck(
        own_title=title_from_filename(file_name) or Path(file_name).stem,
        source_title=title_from_filename(source_file_name) or Path(source_file_name).stem,
    )


def warm_up(parent_pid: int | None = None) -> None:
    """Worker process set-up: import the readers once, and exit when the parent process dies.

    A pool worker holds both ends of its task pipe, so it never sees EOF when its parent is killed;
    without the watchdog every SIGKILL of the bot would leave its idle readers behind.
    """
    if parent_pid is not None:
        threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()
    import services.ingestion.extract
    import services.search.chunking  # noqa: F401


def _exit_with_parent(parent_pid: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != parent_pid:
            os._exit(0)


def _guess_language(text: str) -> str:
    cyrillic = sum(1 for char in text if "\u0400" <= char <= "\u04ff")
    letters = sum(1 for char in text if char.isalpha()) or 1
    return "ru" if cyrillic / letters > 0.3 else "en"
