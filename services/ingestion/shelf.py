"""The shelf and the stored uploads, apart from reading books.

`Shelf`: a user's books as the library shows them: one page of the shelf, one book, the active one,
rename, delete (with its chunks, vectors and file). `BookFiles`: the uploads under DATA_DIR/files/<sha256>,
stored atomically before a book exists and deleted once no book needs them (a failed book keeps its file
FAILED_BOOK_FILE_DAYS so an admin can reprocess it). Reading books is IngestionService's (service.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import utcnow
from db.models import Book, BookStatus
from db.repositories import books as repo
from services.ingestion.errors import ErrorCode, IngestionError

TITLE_LIMIT = 200


def clip(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    text = re.sub(r"\s+", " ", text).strip()
    return text[:limit] or None


@contextlib.contextmanager
def _removed_on_failure(path: Path) -> Iterator[None]:
    """Delete a half-written file when writing it fails: a full disk must not stay full of parts."""
    try:
        yield
    except BaseException:
        path.unlink(missing_ok=True)
        raise


class BookFiles:
    """The stored uploads, one file per content (sha256), shared by every book made from it."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        files_dir: Path,
        max_file_bytes: int,
        failed_file_days: int,
    ) -> None:
        self._sessions = session_factory
        self.files_dir = files_dir
        self.max_file_bytes = max_file_bytes
        self.failed_file_days = failed_file_days

    def path(self, sha256: str) -> Path:
        return self.files_dir / sha256

    def store(self, source: bytes | Path) -> tuple[str, int]:
        """Save the upload as files/<sha256> (atomically) before anything else; returns (sha256, size)."""
        files_dir = self.files_dir
        files_dir.mkdir(parents=True, exist_ok=True)
        limit = self.max_file_bytes
        if isinstance(source, bytes | bytearray | memoryview):
            data = bytes(source)
            if not data:
                raise IngestionError(ErrorCode.EMPTY_FILE)
            if len(data) > limit:
                raise IngestionError(ErrorCode.TOO_LARGE, size=len(data), limit=limit)
            sha256 = hashlib.sha256(data).hexdigest()
            target = self.path(sha256)
            if not target.exists():
                tmp = files_dir / f".{sha256}.{secrets.token_hex(4)}.part"
                with _removed_on_failure(tmp), open(tmp, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, target)
            return sha256, len(data)
        size = source.stat().st_size
        if size == 0:
            raise IngestionError(ErrorCode.EMPTY_FILE)
        if size > limit:
            raise IngestionError(ErrorCode.TOO_LARGE, size=size, limit=limit)
        tmp = files_dir / f".upload.{secrets.token_hex(6)}.part"
        digest = hashlib.sha256()
        with _removed_on_failure(tmp), open(source, "rb") as reader, open(tmp, "wb") as writer:
            while block := reader.read(1024 * 1024):
                digest.update(block)
                writer.write(block)
            writer.flush()
            os.fsync(writer.fileno())
        sha256 = digest.hexdigest()
        target = self.path(sha256)
        if target.exists():
            tmp.unlink(missing_ok=True)
        else:
            os.replace(tmp, target)
        return sha256, size

    async def release(self, sha256: str) -> None:
        """Delete the stored upload once no book needs it any more: all ready, or failed for good longer
        ago than FAILED_BOOK_FILE_DAYS (until then an admin can reprocess it)."""
        async with self._sessions() as session:
            needed = await repo.file_still_needed(session, sha256, failed_since=self.failed_cutoff())
        if not needed:
            with contextlib.suppress(FileNotFoundError):
                self.path(sha256).unlink()

    def failed_cutoff(self, now: datetime | None = None) -> datetime:
        return (now or utcnow()) - timedelta(days=self.failed_file_days)

    def has(self, book: Book) -> bool:
        """Whether the book's uploaded file is still stored (a failed book can then be reprocessed)."""
        return self.path(book.file_sha256).exists()

    async def forget_failed(self, session: AsyncSession, now: datetime) -> int:
        """The nightly clean-up: delete the files of books that failed longer ago than FAILED_BOOK_FILE_DAYS
        and that no other book needs; how many were deleted."""
        cutoff = self.failed_cutoff(now)
        deleted = 0
        for sha256 in await repo.failed_files_before(session, cutoff):
            if await repo.file_still_needed(session, sha256, failed_since=cutoff):
                continue
            with contextlib.suppress(FileNotFoundError):
                self.path(sha256).unlink()
                deleted += 1
        return deleted


class Shelf:
    """A user's books: see the module docstring. `before_delete(book_id)` stops the work this process
    does on a book about to be deleted; `after_delete(book_id)` runs once it is gone (or failed to go)."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        index: Any,
        files: BookFiles,
        *,
        before_delete: Callable[[int], Awaitable[None]] | None = None,
        after_delete: Callable[[int], None] | None = None,
    ) -> None:
        self._sessions = session_factory
        self._index = index
        self.files = files
        self._before_delete = before_delete
        self._after_delete = after_delete

    async def attach_message(self, book_id: int, chat_id: int, message_id: int) -> None:
        """Show this book's progress in another message from now on."""
        async with self._sessions() as session:
            book = await repo.get(session, book_id)
            if book is not None:
                book.chat_id, book.progress_message_id = chat_id, message_id
                await session.commit()

    async def get(self, user_id: int, book_id: int) -> Book | None:
        async with self._sessions() as session:
            return await repo.get_for_user(session, user_id, book_id)

    async def page(self, user_id: int, *, offset: int = 0, limit: int = 8) -> tuple[list[Book], int]:
        """One page of the user's shelf, newest first, and how many books it has in all."""
        async with self._sessions() as session:
            return await repo.shelf_page(session, user_id, offset=offset, limit=limit)

    async def active_book_id(self, user_id: int) -> int | None:
        async with self._sessions() as session:
            return await repo.active_book_id(session, user_id)

    async def set_active(self, user_id: int, book_id: int) -> Book | None:
        async with self._sessions() as session:
            book = await repo.get_for_user(session, user_id, book_id)
            if book is None or book.status != BookStatus.READY:
                return None
            await repo.set_active(session, user_id, book_id)
            await session.commit()
            return book

    async def rename(self, user_id: int, book_id: int, title: str) -> Book | None:
        """Give a book a new title; None when it is not the user's or the title is blank."""
        clean = clip(title, TITLE_LIMIT)
        if not clean:
            return None
        async with self._sessions() as session:
            book = await repo.get_for_user(session, user_id, book_id)
            if book is None:
                return None
            book.title = clean
            await session.commit()
            return book

    async def delete(self, user_id: int, book_id: int) -> bool:
        """Delete a book with its chunks, vectors and (unless another book needs it) its file, stopping
        the work this process does on it first."""
        async with self._sessions() as session:
            book = await repo.get_for_user(session, user_id, book_id)
            if book is None:
                return False
            sha256 = book.file_sha256
        try:
            if self._before_delete is not None:
                await self._before_delete(book_id)
            await self._index.delete_book(user_id, book_id)
            async with self._sessions() as session:
                await repo.delete_book(session, book_id)
                if await repo.active_book_id(session, user_id) == book_id:
                    latest = await repo.latest_ready(session, user_id, exclude=book_id)
                    await repo.set_active(session, user_id, latest.id if latest else None)
                await session.commit()
            await self.files.release(sha256)
        finally:
            if self._after_delete is not None:
                self._after_delete(book_id)
        return True
