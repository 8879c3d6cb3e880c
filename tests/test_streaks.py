"""Streaks and milestones on SQLite and PostgreSQL: days in the reader's time zone, a missed day, and
many updates at once counting one day and announcing each milestone once."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Achievement, ReadingStreak
from services.engagement.streaks import local_day, record_reading, stats
from tests.chat_helpers import add_reading

MONDAY = date(2025, 3, 3)


async def _reader(session: AsyncSession, user_id: int, *, books: int = 1, questions: int = 1) -> None:
    add_reading(session, user_id, books=books, questions=questions)
    await session.commit()


def test_the_day_is_the_readers_own() -> None:
    late = datetime(2025, 3, 3, 23, 30, tzinfo=UTC)
    assert local_day(late, None) == MONDAY
    assert local_day(late, "Europe/Moscow") == MONDAY + timedelta(days=1)  # 02:30 on Tuesday there
    assert local_day(late, "America/New_York") == MONDAY
    assert local_day(late, "Not/AZone") == MONDAY


async def test_days_in_a_row_a_missed_day_and_the_best_kept(session: AsyncSession) -> None:
    await _reader(session, 5)
    assert set(await record_reading(session, 5, MONDAY)) == {"first_book", "first_question"}
    assert await record_reading(session, 5, MONDAY) == []  # the same day again
    assert await record_reading(session, 5, MONDAY + timedelta(days=1)) == []
    assert await record_reading(session, 5, MONDAY + timedelta(days=2)) == ["streak_3"]
    await session.commit()
    figures = await stats(session, 5, MONDAY + timedelta(days=2))
    assert (figures.current_streak, figures.best_streak, figures.days_read) == (3, 3, 3)
    assert await record_reading(session, 5, MONDAY + timedelta(days=5)) == []  # two days missed
    await session.commit()
    figures = await stats(session, 5, MONDAY + timedelta(days=7))  # and not read since
    assert (figures.current_streak, figures.best_streak, figures.days_read) == (0, 3, 4)
    assert figures.milestones == ["first_book", "first_question", "streak_3"]
    assert figures.books == 1 and figures.questions == 1


async def test_many_updates_at_once_count_one_day_and_announce_once(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        await _reader(session, 6, books=10, questions=100)

    async def one() -> list[str]:
        async with session_factory() as session:
            reached = await record_reading(session, 6, MONDAY)
            await session.commit()
            return reached

    results = await asyncio.gather(*(one() for _ in range(12)))
    announced = [code for reached in results for code in reached]
    assert sorted(announced) == sorted(["first_book", "books_10", "first_question", "questions_100"])
    async with session_factory() as session:
        streak = await session.get(ReadingStreak, 6)
        assert streak is not None and (streak.current, streak.days_total, streak.last_day) == (1, 1, MONDAY)
        count = await session.scalar(
            select(func.count()).select_from(Achievement).where(Achievement.user_id == 6)
        )
        assert count == 4
