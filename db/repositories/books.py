"""Queries on books and chunks. Nothing here commits: the caller decides."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, insert, literal, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.models import Book, BookStatus, Chunk, User

# Failures the user can fix by sending a password: the book stays on the shelf waiting for it.
PASSWORD_CODES = ("password_required", "wrong_password")


async def get(session: AsyncSession, book_id: int, *, fresh: bool = False) -> Book | None:
    return await session.get(Book, book_id, populate_existing=fresh)


async def get_for_user(session: AsyncSession, user_id: int, book_id: int) -> Book | None:
    book = await session.get(Book, book_id)
    if book is None or book.user_id != user_id:
        return None
    return book


async def find_by_sha(session: AsyncSession, user_id: int, sha256: str) -> Book | None:
    return await session.scalar(select(Book).where(Book.user_id == user_id, Book.file_sha256 == sha256))


async def find_ready_source(session: AsyncSession, sha256: str, *, exclude_user: int) -> Book | None:
    """Another user's ready book made from the same file, whose chunks and vectors can be copied."""
    return await session.scalar(
        select(Book)
        .where(
            Book.file_sha256 == sha256,
            Book.user_id != exclude_user,
            Book.status == BookStatus.READY,
            Book.chunks > 0,
        )
        .order_by(Book.id)
        .limit(1)
    )


def shelf_filter(user_id: int) -> Any:
    """What /books shows: ready books, books on their way, and books waiting for a password."""
    return and_(
        Book.user_id == user_id,
        or_(Book.status != BookStatus.FAILED, Book.error_code.in_(PASSWORD_CODES)),
    )


async def shelf_page(
    session: AsyncSession, user_id: int, *, offset: int, limit: int
) -> tuple[list[Book], int]:
    """One page of the shelf, newest first, and how many books it has in all: one query (a second only
    for a page past the end)."""
    rows = (
        await session.execute(
            select(Book, func.count().over())
            .where(shelf_filter(user_id))
            .order_by(Book.created_at.desc(), Book.id.desc())
            .offset(offset)
            .limit(limit)
        )
    ).all()
    if rows:
        return [row[0] for row in rows], int(rows[0][1])
    return [], await count_shelf(session, user_id) if offset else 0


async def count_shelf(session: AsyncSession, user_id: int) -> int:
    return int(await session.scalar(select(func.count()).select_from(Book).where(shelf_filter(user_id))) or 0)


async def latest_ready(session: AsyncSession, user_id: int, *, exclude: int | None = None) -> Book | None:
    query = select(Book).where(Book.user_id == user_id, Book.status == BookStatus.READY)
    if exclude is not None:
        query = query.where(Book.id != exclude)
    return await session.scalar(query.order_by(Book.ready_at.desc(), Book.id.desc()).limit(1))


async def unfinished(session: AsyncSession) -> list[Book]:
    """Books a worker still owes work: pending, or processing (perhaps by a process that died)."""
    rows = await session.scalars(
        select(Book).where(Book.status.in_((BookStatus.PENDING, BookStatus.PROCESSING))).order_by(Book.id)
    )
    return list(rows.all())


async def dense_pending(session: AsyncSession) -> list[Book]:
    """Ready books whose dense vectors are still to be added."""
    rows = await session.scalars(
        select(Book).where(Book.status == BookStatus.READY, Book.dense_pending.is_(True)).order_by(Book.id)
    )
    return list(rows.all())


async def claim_dense(
    session: AsyncSession,
    book_id: int,
    *,
    owner: str,
    lease_until: datetime | None,
    now: datetime,
    stale_owner: str | None = None,
) -> bool:
    """Take a ready book's dense vectors to add: free, or `stale_owner`'s (a worker that died: its task was
    delivered again)."""
    free = or_(Book.lease_owner.is_(None), Book.lease_expires_at < now)
    if stale_owner is not None:
        free = or_(free, Book.lease_owner == stale_owner)
    result = await session.execute(
        update(Book)
        .where(Book.id == book_id, Book.status == BookStatus.READY, Book.dense_pending.is_(True), free)
        .values(lease_owner=owner, lease_expires_at=lease_until)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def release_dense(session: AsyncSession, book_id: int, owner: str, *, done: bool) -> bool:
    """Let go of a ready book's dense work (`done`: its vectors are all in); False if not held."""
    values: dict[str, Any] = {"lease_owner": None, "lease_expires_at": None}
    if done:
        values["dense_pending"] = False
    result = await session.execute(
        update(Book)
        .where(Book.id == book_id, Book.status == BookStatus.READY, Book.lease_owner == owner)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def claim(
    session: AsyncSession, book_id: int, *, owner: str, now: datetime, holder: str | None = None
) -> bool:
    """Take a pending book for processing, or one still processing by `holder` (a worker that died:
    its task was delivered again); atomic across processes."""
    taken_over = (
        and_(Book.status == BookStatus.PROCESSING, Book.lease_owner == holder)
        if holder is not None
        else and_(Book.status == BookStatus.PROCESSING, Book.lease_owner.is_(None))
    )
    result = await session.execute(
        update(Book)
        .where(Book.id == book_id, or_(Book.status == BookStatus.PENDING, taken_over))
        .values(
            status=BookStatus.PROCESSING,
            attempts=Book.attempts + 1,
            lease_owner=owner,
            lease_expires_at=None,
            next_attempt_at=None,
            error_code=None,
            error_details=None,
            progress=0.0,
            stage="reading",
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def owned(session: AsyncSession, book_id: int, owner: str, **values: Any) -> bool:
    """Update a book only while `owner` still holds it; False when it was deleted or taken over."""
    values.setdefault("updated_at", utcnow())
    result = await session.execute(
        update(Book)
        .where(Book.id == book_id, Book.lease_owner == owner, Book.status == BookStatus.PROCESSING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def release_stale(session: AsyncSession, book_id: int, owner: str | None, **values: Any) -> bool:
    """Move a processing book held by `owner` (a dead process) to new values, atomically."""
    values.setdefault("updated_at", utcnow())
    result = await session.execute(
        update(Book)
        .where(
            Book.id == book_id,
            Book.status == BookStatus.PROCESSING,
            Book.lease_owner.is_(None) if owner is None else Book.lease_owner == owner,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def replace_chunks(session: AsyncSession, book_id: int, chunks: Iterable[dict[str, Any]]) -> None:
    await session.execute(delete(Chunk).where(Chunk.book_id == book_id))
    rows = [{**chunk, "book_id": book_id} for chunk in chunks]
    if rows:
        await session.execute(insert(Chunk), rows)


async def copy_chunks(session: AsyncSession, source_book_id: int, target_book_id: int) -> None:
    """Copy every chunk row of one book to another in the database itself (INSERT ... SELECT)."""
    await session.execute(delete(Chunk).where(Chunk.book_id == target_book_id))
    columns = ["book_id", "seq", "text", "page", "chapter", "percent", "char_start", "char_end"]
    source = select(
        literal(target_book_id),
        Chunk.seq,
        Chunk.text,
        Chunk.page,
        Chunk.chapter,
        Chunk.percent,
        Chunk.char_start,
        Chunk.char_end,
    ).where(Chunk.book_id == source_book_id)
    await session.execute(insert(Chunk).from_select(columns, source))


async def chunks(session: AsyncSession, book_id: int, seqs: Sequence[int] | None = None) -> list[Chunk]:
    """A book's chunks in reading order (only the given `seqs` when passed)."""
    query = select(Chunk).where(Chunk.book_id == book_id)
    if seqs is not None:
        query = query.where(Chunk.seq.in_(list(seqs)))
    return list((await session.scalars(query.order_by(Chunk.seq))).all())


async def count_chunks(session: AsyncSession, book_id: int) -> int:
    return int(
        await session.scalar(select(func.count()).select_from(Chunk).where(Chunk.book_id == book_id)) or 0
    )


async def delete_book(session: AsyncSession, book_id: int) -> None:
    await session.execute(delete(Chunk).where(Chunk.book_id == book_id))
    await session.execute(delete(Book).where(Book.id == book_id))


async def file_still_needed(
    session: AsyncSession, sha256: str, *, failed_since: datetime | None = None
) -> bool:
    """Whether a stored upload is still needed: a book from it is unfinished or waits for a password, or
    (with `failed_since`) failed at or after that time and may be reprocessed."""
    kept = [
        Book.status.in_((BookStatus.PENDING, BookStatus.PROCESSING)),
        and_(Book.status == BookStatus.FAILED, Book.error_code.in_(PASSWORD_CODES)),
    ]
    if failed_since is not None:
        kept.append(and_(Book.status == BookStatus.FAILED, Book.updated_at >= failed_since))
    count = await session.scalar(
        select(func.count()).select_from(Book).where(Book.file_sha256 == sha256, or_(*kept))
    )
    return bool(count)


async def failed_files_before(session: AsyncSession, cutoff: datetime) -> list[str]:
    """The files of books that failed for good (not waiting for a password) before `cutoff`."""
    rows = await session.scalars(
        select(Book.file_sha256)
        .where(
            Book.status == BookStatus.FAILED,
            Book.updated_at < cutoff,
            or_(Book.error_code.is_(None), Book.error_code.not_in(PASSWORD_CODES)),
        )
        .distinct()
    )
    return list(rows.all())


async def set_active(session: AsyncSession, user_id: int, book_id: int | None) -> None:
    await session.execute(update(User).where(User.id == user_id).values(active_book_id=book_id))


async def active_book_id(session: AsyncSession, user_id: int) -> int | None:
    value = await session.scalar(select(User.active_book_id).where(User.id == user_id))
    return int(value) if value is not None else None


# ---------------------------------------------------------------- spoiler-safe reading


async def reading_limits(session: AsyncSession, user_id: int, book_id: int | None = None) -> dict[int, float]:
    """Book id -> percent read, for the user's books with a reading limit (of `book_id` only when given)."""
    query = select(Book.id, Book.read_until).where(Book.user_id == user_id, Book.read_until.is_not(None))
    if book_id is not None:
        query = query.where(Book.id == book_id)
    return {int(book): float(percent or 0.0) for book, percent in await session.execute(query)}


async def reading_limit(session: AsyncSession, book_id: int) -> float | None:
    """How far the reader has read the book (percent), None when they have not said."""
    value = await session.scalar(select(Book.read_until).where(Book.id == book_id))
    return None if value is None else float(value)


def before_limit(limit: float | None) -> ColumnElement[bool]:
    """The condition on chunks that keeps those the reader has read (all without a limit)."""
    return true() if limit is None else Chunk.percent < limit
