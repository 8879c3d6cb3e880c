"""Reading streaks and milestones.

A day counts when the user asks about a book, searches their shelf or studies (a summary, a study
question). Days are the user's own calendar days (their time zone, else UTC), so a streak does not break
at midnight UTC. Milestones are reached once each and announced once: the achievement's primary key
(user, code) makes a second announcement impossible, even for two updates at the same moment.

Everything here is one short transaction per update, safe on SQLite and PostgreSQL under concurrency:
the day is counted by a conditional UPDATE (`last_day < today`), never read-modify-write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Achievement, Book, BookStatus, ChatTurn, ReadingStreak
from services.jobs.clock import Clock

# Milestones in the order they are shown: (code, what is counted, how many).
MILESTONES: tuple[tuple[str, str, int], ...] = (
    ("first_book", "books", 1),
    ("books_10", "books", 10),
    ("first_question", "questions", 1),
    ("questions_100", "questions", 100),
    ("questions_1000", "questions", 1000),
    ("streak_3", "streak", 3),
    ("streak_7", "streak", 7),
    ("streak_30", "streak", 30),
)


@dataclass(frozen=True, slots=True)
class ReaderStats:
    """What /stats shows."""

    books: int
    questions: int
    current_streak: int  # 0 when the last reading day was before yesterday
    best_streak: int
    days_read: int
    milestones: list[str]  # codes reached, in MILESTONES order


def local_day(now: datetime, timezone: str | None) -> date:
    """The user's calendar day at `now` (their time zone; UTC when unknown)."""
    try:
        zone = ZoneInfo(timezone) if timezone else None
    except (ZoneInfoNotFoundError, ValueError):
        zone = None
    return now.astimezone(zone).date() if zone else now.date()


async def record_reading(session: AsyncSession, user_id: int, today: date) -> list[str]:
    """Count `today` as a reading day (once however often it is called) and return the milestones reached
    just now, to announce. The caller commits."""
    await _ensure_row(session, user_id)
    yesterday = today - timedelta(days=1)
    continued = case((ReadingStreak.last_day == yesterday, ReadingStreak.current + 1), else_=1)
    await session.execute(
        update(ReadingStreak)
        .where(
            ReadingStreak.user_id == user_id,
            (ReadingStreak.last_day.is_(None)) | (ReadingStreak.last_day < today),
        )
        .values(
            current=continued,
            best=case((continued > ReadingStreak.best, continued), else_=ReadingStreak.best),
            last_day=today,
            days_total=ReadingStreak.days_total + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return await _reach_milestones(session, user_id, today)


async def stats(session: AsyncSession, user_id: int, today: date) -> ReaderStats:
    streak = await session.get(ReadingStreak, user_id, populate_existing=True)
    books, questions = await _counts(session, user_id)
    current = 0
    if streak is not None and streak.last_day is not None and streak.last_day >= today - timedelta(days=1):
        current = streak.current
    reached = set(await session.scalars(select(Achievement.code).where(Achievement.user_id == user_id)))
    return ReaderStats(
        books=books,
        questions=questions,
        current_streak=current,
        best_streak=streak.best if streak else 0,
        days_read=streak.days_total if streak else 0,
        milestones=[code for code, _, _ in MILESTONES if code in reached],
    )


async def _ensure_row(session: AsyncSession, user_id: int) -> None:
    if await session.scalar(select(ReadingStreak.user_id).where(ReadingStreak.user_id == user_id)):
        return
    try:
        async with session.begin_nested():
            session.add(ReadingStreak(user_id=user_id, current=0, best=0, days_total=0))
    except IntegrityError:
        pass  # made by a concurrent update of the same user


async def _counts(session: AsyncSession, user_id: int) -> tuple[int, int]:
    books = await session.scalar(
        select(func.count()).select_from(Book).where(Book.user_id == user_id, Book.status == BookStatus.READY)
    )
    questions = await session.scalar(
        select(func.count()).select_from(ChatTurn).where(ChatTurn.user_id == user_id)
    )
    return int(books or 0), int(questions or 0)


async def _reach_milestones(session: AsyncSession, user_id: int, today: date) -> list[str]:
    books, questions = await _counts(session, user_id)
    streak = await session.scalar(select(ReadingStreak.current).where(ReadingStreak.user_id == user_id))
    figures = {"books": books, "questions": questions, "streak": int(streak or 0)}
    due = [code for code, what, count in MILESTONES if figures[what] >= count]
    if not due:
        return []
    have = set(await session.scalars(select(Achievement.code).where(Achievement.user_id == user_id)))
    reached: list[str] = []
    for code in due:
        if code in have:
            continue
        try:
            async with session.begin_nested():
                session.add(Achievement(user_id=user_id, code=code))
        except IntegrityError:
            continue  # a concurrent update announced it
        reached.append(code)
    return reached


class ReadingStreaks:
    """Streaks on the bot's clock (the sandbox can move it), for the handlers."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def today(self, timezone: str | None) -> date:
        return local_day(self.clock.now(), timezone)

    async def read(self, session: AsyncSession, user_id: int, timezone: str | None) -> list[str]:
        """Count today for the user (committed) and return the milestones reached just now."""
        reached = await record_reading(session, user_id, self.today(timezone))
        await session.commit()
        return reached

    async def stats(
        self, session: AsyncSession, user_id: int, timezone: str | None
    ) -> tuple[ReaderStats, list[str]]:
        """The user's figures, and the milestones reached just now (a book that became ready since the
        last reading day), to announce."""
        reached = await _reach_milestones(session, user_id, self.today(timezone))
        if reached:
            await session.commit()
        return await stats(session, user_id, self.today(timezone)), reached
