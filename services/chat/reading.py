"""Spoiler-safe reading: the reader says how far they have got in a book, as a percentage or as the
last chapter they finished, and from then on answers, quotes, summaries, key ideas, study questions,
the daily quote and search use only passages that start before that point (see
db.repositories.books.before_limit, and the search filter in services.search.index)."""

from __future__ import annotations

import re

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Book, Chunk
from services.chat.summaries import book_chapters

_PERCENT = re.compile(r"^\s*(\d{1,3}(?:[.,]\d+)?)\s*%?\s*$")


def parse_percent(text: str) -> float | None:
    """ "40", "40%", "37,5 %" -> the percentage; None for anything else or beyond 0-100."""
    found = _PERCENT.match(text)
    if found is None:
        return None
    value = float(found.group(1).replace(",", "."))
    return value if 0.0 <= value <= 100.0 else None


async def set_read_until(session: AsyncSession, user_id: int, book_id: int, percent: float | None) -> bool:
    """Set (None: clear) how far the user has read their book; read to the end clears it. False when the
    book is not theirs."""
    if percent is not None and percent >= 100.0:
        percent = None  # nothing left to hide
    result = await session.execute(
        update(Book)
        .where(Book.id == book_id, Book.user_id == user_id)
        .values(read_until=None if percent is None else max(0.0, percent))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def read_to_chapter(session: AsyncSession, user_id: int, book_id: int, key: str) -> float | None:
    """The reader finished the chapter with key `key`: the limit is where the text after it begins.
    Returns that percent (100: the last chapter, no limit left), or None for an unknown chapter."""
    chapter = next((c for c in await book_chapters(session, book_id) if c.key == key), None)
    if chapter is None:
        return None
    following = await session.scalar(
        select(Chunk.percent)
        .where(Chunk.book_id == book_id, Chunk.seq > chapter.last_seq)
        .order_by(Chunk.seq)
        .limit(1)
    )
    percent = 100.0 if following is None else float(following)
    return percent if await set_read_until(session, user_id, book_id, percent) else None
