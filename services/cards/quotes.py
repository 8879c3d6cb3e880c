"""Which quote a card shows: a passage of the user's own book, never anyone else's."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Book, Chunk
from services.cards.render import QuoteCard


async def card_for_chunk(session: AsyncSession, user_id: int, chunk_id: int) -> QuoteCard | None:
    """The card of one indexed passage, or None when it is not in this user's books."""
    row = (
        await session.execute(
            select(Chunk, Book)
            .join(Book, Book.id == Chunk.book_id)
            .where(Chunk.id == chunk_id, Book.user_id == user_id)
        )
    ).first()
    if row is None:
        return None
    chunk, book = row
    place = chunk.chapter or (f"p. {chunk.page}" if chunk.page else None)
    return QuoteCard(chunk.text.strip(), book.display_title, book.author, place, book_id=book.id)


PASSAGE_PREFIX = "cardp"


def passage_card_data(book_id: int, seq: int) -> str:
    """Callback data of the card button under a passage known by book and place (the daily quote)."""
    return f"{PASSAGE_PREFIX}:{book_id}:{seq}"


async def card_for_passage(session: AsyncSession, user_id: int, book_id: int, seq: int) -> QuoteCard | None:
    """The card of the passage at `seq` in the user's own book, or None."""
    chunk_id = await session.scalar(
        select(Chunk.id)
        .join(Book, Book.id == Chunk.book_id)
        .where(Chunk.book_id == book_id, Chunk.seq == seq, Book.user_id == user_id)
    )
    return None if chunk_id is None else await card_for_chunk(session, user_id, chunk_id)
