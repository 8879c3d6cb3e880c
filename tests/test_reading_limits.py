"""Spoiler-safe reading in the services, on SQLite and PostgreSQL: the limit is the reader's own, the
daily quote, study questions and summaries come only from the part read, and a summary of the part read
is stored apart from the whole book's."""

from __future__ import annotations

import random

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Book, BookStatus, BookSummary, Chunk
from db.repositories import books as books_repo
from services.chat.reading import parse_percent, read_to_chapter, set_read_until
from services.chat.study import StudyService
from services.chat.summaries import SummaryService
from services.notifications.content import pick_quote

LINE = "The keeper of the lighthouse counted the boats in the harbour before the storm came in from the sea."


async def _book(session: AsyncSession, user_id: int = 7, chunks: int = 20) -> Book:
    book = Book(
        user_id=user_id, file_sha256=f"{user_id:064d}", file_name="keeper.txt", title="The Keeper",
        status=BookStatus.READY, chunks=chunks,
    )  # fmt: skip
    session.add(book)
    await session.flush()
    for seq in range(chunks):
        chapter = "CHAPTER I" if seq < chunks // 2 else "CHAPTER II"
        text = f"{LINE} Passage number {seq} of the book, told in the chapter {chapter}."
        session.add(Chunk(book_id=book.id, seq=seq, text=text, chapter=chapter, percent=100.0 * seq / chunks))
    await session.commit()
    return book


def test_percentages_are_read_as_readers_type_them() -> None:
    assert parse_percent("40") == 40.0
    assert parse_percent(" 37,5 % ") == 37.5
    assert parse_percent("100%") == 100.0
    for wrong in ("", "half", "101", "-5", "40 pages", "4o"):
        assert parse_percent(wrong) is None


async def test_the_limit_is_the_readers_own_and_a_whole_book_clears_it(session: AsyncSession) -> None:
    book = await _book(session)
    assert not await set_read_until(session, 8, book.id, 30.0)  # someone else's book
    assert await set_read_until(session, 7, book.id, 30.0)
    await session.commit()
    assert await books_repo.reading_limits(session, 7) == {book.id: 30.0}
    assert await books_repo.reading_limits(session, 8) == {}
    # Finishing the first chapter: the limit is where the second begins.
    assert await read_to_chapter(session, 7, book.id, "nope") is None
    chapters = await SummaryService(None).chapters(session, book.id)
    assert [c.title for c in chapters] == ["CHAPTER I"]  # the second is past the limit: not offered
    assert await read_to_chapter(session, 7, book.id, chapters[0].key) == 50.0
    await session.commit()
    assert await books_repo.reading_limit(session, book.id) == 50.0
    assert await set_read_until(session, 7, book.id, 100.0)
    await session.commit()
    assert await books_repo.reading_limit(session, book.id) is None


async def test_quotes_study_and_summaries_come_from_the_part_read(session: AsyncSession) -> None:
    book = await _book(session)
    await set_read_until(session, 7, book.id, 25.0)  # passages 0-4
    await session.commit()
    for seed in range(30):
        quote = await pick_quote(session, 7, f"day-{seed}")
        assert quote is not None
        assert quote.seq < 5 and quote.percent < 25.0, quote

    study = StudyService(None, rng=random.Random(1))
    for _ in range(10):
        question = await study.question(session, user_id=7, book_id=book.id)
        assert question is not None and question.chunk_id < 5  # the passage's place in the book

    summaries = SummaryService(None)
    part = await summaries.summarise(session, user_id=7, book_id=book.id)
    assert part is not None and part.scope == "book|read<25"
    assert all(q.chunk_id < 5 for q in part.quotes)
    stored = await summaries.stored(session, book.id)
    assert stored is not None and stored.scope == "book|read<25" and stored.short == part.short
    await set_read_until(session, 7, book.id, None)
    await session.commit()
    assert await summaries.stored(session, book.id) is None  # the whole book's is not the part's
    whole = await summaries.summarise(session, user_id=7, book_id=book.id)
    assert whole is not None and whole.scope == "book"
    scopes = sorted(await session.scalars(select(BookSummary.scope).where(BookSummary.book_id == book.id)))
    assert scopes == ["book", "book|read<25"]
