"""Books as admins see them: the ingestion queue, failures with their errors, reprocess, delete."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Book, BookStatus
from services.admin.actor import Actor, AdminError
from services.admin.audit import AuditAction, AuditLog
from services.admin.deps import Dependencies

QUEUED = (BookStatus.PENDING, BookStatus.PROCESSING)


class BookAdmin:
    def __init__(self, deps: Dependencies, audit: AuditLog) -> None:
        self.deps = deps
        self.audit = audit

    async def queue(
        self, session: AsyncSession, *, offset: int = 0, limit: int = 8
    ) -> tuple[list[Book], int]:
        """Pending and processing books, oldest first (the order workers take them in)."""
        where = Book.status.in_(QUEUED)
        rows = await session.scalars(
            select(Book).where(where).order_by(Book.created_at, Book.id).offset(offset).limit(limit)
        )
        total = int(await session.scalar(select(func.count(Book.id)).where(where)) or 0)
        return list(rows.all()), total

    async def failed(
        self, session: AsyncSession, *, offset: int = 0, limit: int = 8
    ) -> tuple[list[Book], int]:
        """Failed books, most recent failure first."""
        where = Book.status == BookStatus.FAILED
        rows = await session.scalars(
            select(Book)
            .where(where)
            .order_by(Book.updated_at.desc(), Book.id.desc())
            .offset(offset)
            .limit(limit)
        )
        total = int(await session.scalar(select(func.count(Book.id)).where(where)) or 0)
        return list(rows.all()), total

    async def get(self, session: AsyncSession, book_id: int) -> Book | None:
        return await session.get(Book, book_id, populate_existing=True)

    def can_reprocess(self, book: Book) -> bool:
        """A failed book whose file is still kept (FAILED_BOOK_FILE_DAYS after it failed)."""
        return book.status == BookStatus.FAILED and self.deps.books().has_file(book)

    async def reprocess(self, session: AsyncSession, actor: Actor, book_id: int) -> None:
        """Queue a failed book again through ingestion; commits the audit entry."""
        book = await self.get(session, book_id)
        if book is None:
            raise AdminError("not_found")
        if book.status != BookStatus.FAILED:
            raise AdminError("not_retryable")
        user_id, error = book.user_id, book.error_code
        await session.commit()  # ingestion writes in its own transaction
        if await self.deps.books().retry(user_id, book_id) is None:
            raise AdminError("not_retryable")
        await self.audit.record(
            session, actor.id, AuditAction.BOOK_REPROCESS, user_id, book_id=book_id, error=error
        )
        await session.commit()

    async def delete(self, session: AsyncSession, actor: Actor, book_id: int) -> None:
        """Delete a book with its vectors, chunks and file, through ingestion; commits the audit entry."""
        book = await self.get(session, book_id)
        if book is None:
            raise AdminError("not_found")
        user_id, title, status = book.user_id, book.display_title, book.status
        await session.commit()
        if not await self.deps.books().delete(user_id, book_id):
            raise AdminError("not_found")
        await self.audit.record(
            session, actor.id, AuditAction.BOOK_DELETE, user_id, book_id=book_id, title=title, status=status
        )
        await session.commit()
