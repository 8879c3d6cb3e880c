"""The opt-in leaderboard on SQLite and PostgreSQL: nobody is on it by default, names are checked, the
hourly recount ranks by streak then questions then books, leaving takes the line off at once (even while a
recount runs), and the line is exported and erased with the user's data."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import LeaderboardEntry, ReadingStreak, User
from handlers.leaderboard import render_board
from locales.i18n import I18n
from services.engagement import leaderboard
from services.engagement.leaderboard import NameRejected, clean_name
from services.privacy.export import collect
from tests.chat_helpers import add_reading

NOW = datetime(2025, 3, 5, 12, 0, tzinfo=UTC)
TODAY = date(2025, 3, 5)


async def _reader(
    session: AsyncSession,
    user_id: int,
    *,
    books: int = 0,
    questions: int = 0,
    streak: int = 0,
    last_day: date | None = TODAY,
    first_name: str = "Secret",
) -> User:
    user = User(id=user_id, first_name=first_name, language="en", settings={})
    session.add(user)
    add_reading(session, user_id, books=books, questions=questions)
    if streak:
        session.add(
            ReadingStreak(user_id=user_id, current=streak, best=streak, last_day=last_day, days_total=streak)
        )
    await session.commit()
    return user


def test_names_are_cleaned_and_checked() -> None:
    assert clean_name("  Anna   K. ") == "Anna K."
    assert clean_name("Читатель 42") == "Читатель 42"
    assert clean_name("<b>x</b>") == "<b>x</b>"  # shown escaped, not refused
    assert clean_name("Line\nbreak") == "Line break"
    for bad, code in [
        ("A", "length"),
        ("x" * 25, "length"),
        ("   ", "length"),
        ("Ann\u200bа", "characters"),
        ("Evil\u202eman", "characters"),
        ("Tab\x07bell", "characters"),
        ("@spammer", "link"),
        ("visit t.me/chan", "link"),
        ("http://x.y", "link"),
        ("buy.com", "link"),
    ]:
        with pytest.raises(NameRejected) as error:
            clean_name(bad)
        assert error.value.code == code, bad


async def test_off_by_default_then_ranked_by_streak_questions_books(session: AsyncSession) -> None:
    ann = await _reader(session, 1, books=1, questions=3, streak=5)
    bob = await _reader(session, 2, books=4, questions=10, streak=5)
    cid = await _reader(session, 3, books=9, questions=50, streak=1)
    await _reader(session, 4, books=20, questions=99, streak=9)  # never joins
    old = await _reader(session, 5, books=1, questions=1, streak=30, last_day=TODAY - timedelta(days=2))

    assert leaderboard.joined_name(ann) is None
    assert (await leaderboard.refresh(session, NOW)) == {"ranked": 0, "hidden": 0}
    assert (await leaderboard.board(session, 1)).top == []

    for user, name in [(ann, "Ann"), (bob, "Bob"), (cid, "Cid"), (old, "Old")]:
        await leaderboard.join(session, user, name)
    board = await leaderboard.board(session, 1)
    assert board.joined and board.own is None and board.top == []  # joined, not ranked yet

    assert await leaderboard.refresh(session, NOW) == {"ranked": 4, "hidden": 0}
    board = await leaderboard.board(session, 1)
    lines = [(line.rank, line.display_name, line.streak, line.questions, line.books) for line in board.top]
    assert lines == [(1, "Bob", 5, 10, 4), (2, "Ann", 5, 3, 1), (3, "Cid", 1, 50, 9), (4, "Old", 0, 1, 1)]
    assert board.own is not None and board.own.rank == 2 and board.ranked == 4
    assert board.refreshed_at is not None
    assert all(line.user_id != 4 for line in board.top)  # the reader who did not join is not there
    names = set(await session.scalars(select(LeaderboardEntry.display_name)))
    assert "Secret" not in names  # the Telegram name is never used

    assert await leaderboard.board(session, 4) == leaderboard.Board(
        top=board.top, own=None, joined=False, ranked=4, refreshed_at=board.refreshed_at
    )


async def test_rename_leave_ban_and_the_top_ten(session: AsyncSession) -> None:
    users = [await _reader(session, 100 + n, questions=n) for n in range(12)]
    for n, user in enumerate(users):
        await leaderboard.join(session, user, f"Reader {n}")
    await leaderboard.refresh(session, NOW)
    board = await leaderboard.board(session, 100)  # the fewest questions: 12th
    assert len(board.top) == 10 and board.top[0].display_name == "Reader 11"
    assert board.own is not None and board.own.rank == 12

    with pytest.raises(NameRejected) as error:
        await leaderboard.join(session, users[11], "reader 3")  # another reader's name, in another case
    assert error.value.code == "taken"
    assert await leaderboard.join(session, users[11], "Reader 11") == "Reader 11"  # one's own name again
    assert await leaderboard.join(session, users[11], "  New   name ") == "New name"
    assert (await leaderboard.board(session, 111)).top[0].display_name == "New name"  # at once
    assert leaderboard.joined_name(users[11]) == "New name"

    await leaderboard.leave(session, users[11])
    assert leaderboard.joined_name(users[11]) is None
    board = await leaderboard.board(session, 111)
    assert not board.joined and board.own is None and board.top[0].display_name == "Reader 10"  # at once

    users[10].banned = True
    await session.commit()
    assert await leaderboard.refresh(session, NOW) == {"ranked": 10, "hidden": 1}
    board = await leaderboard.board(session, 110)
    assert board.own is None and board.joined and [line.rank for line in board.top] == list(range(1, 11))
    assert await session.get(LeaderboardEntry, 111) is None  # the recount did not bring the leaver back


async def test_leaving_while_recounts_run_stays_left(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        for n in range(8):
            user = await _reader(session, 200 + n, questions=n, streak=n % 3)
            await leaderboard.join(session, user, f"R{n}")

    async def leave(user_id: int) -> None:
        async with session_factory() as session:
            user = await session.get(User, user_id)
            assert user is not None
            await leaderboard.leave(session, user)

    async def recount() -> None:
        async with session_factory() as session:
            await leaderboard.refresh(session, NOW)

    await asyncio.gather(*(recount() for _ in range(4)), *(leave(200 + n) for n in range(0, 8, 2)))
    await recount()
    async with session_factory() as session:
        left = set(await session.scalars(select(LeaderboardEntry.user_id)))
        assert left == {201, 203, 205, 207}
        ranks = sorted(await session.scalars(select(LeaderboardEntry.rank)))
        assert ranks == [1, 2, 3, 4]
        for n in range(0, 8, 2):
            stored = await session.get(User, 200 + n)
            assert stored is not None and leaderboard.joined_name(stored) is None


async def test_joining_twice_at_once_makes_one_line(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        await _reader(session, 300)

    async def join(name: str) -> None:
        async with session_factory() as session:
            user = await session.get(User, 300)
            assert user is not None
            await leaderboard.join(session, user, name)

    await asyncio.gather(*(join(f"Name {n}") for n in range(6)))
    async with session_factory() as session:
        count = await session.scalar(select(func.count()).select_from(LeaderboardEntry))
        assert count == 1


async def test_the_line_is_exported(session: AsyncSession) -> None:
    user = await _reader(session, 400, books=2, questions=1, streak=2)
    assert (await collect(session, 400) or {})["leaderboard"] is None
    await leaderboard.join(session, user, "Reader")
    await leaderboard.refresh(session, NOW)
    line = (await collect(session, 400) or {})["leaderboard"]
    assert line is not None
    assert {k: line[k] for k in ("display_name", "rank", "books", "questions", "streak")} == {
        "display_name": "Reader",
        "rank": 1,
        "books": 2,
        "questions": 1,
        "streak": 2,
    }


def test_top_shows_the_readers_own_line_below_the_ten_and_escapes_names() -> None:
    lines = [leaderboard.BoardLine(n, f"<b>R{n}</b>", 1, 12 - n, 0, 500 + n) for n in range(1, 11)]
    own = leaderboard.BoardLine(12, "Me & you", 0, 1, 2, 999)
    board = leaderboard.Board(top=lines, own=own, joined=True, ranked=12, refreshed_at=NOW)
    text = render_board(board, I18n().translator("en"))
    assert "1. &lt;b&gt;R1&lt;/b&gt; — 🔥 0 · 💬 11 · 📚 1" in text
    assert "You are <b>#12</b> of 12.\n<b>12. Me &amp; you — 🔥 2 · 💬 1 · 📚 0</b>" in text, text
    assert "Recounted 2025-03-05 12:00 UTC" in text
    ru = render_board(leaderboard.Board([], None, False, 0, None), I18n().translator("ru"))
    assert "В рейтинге пока никого нет" in ru and "Вас нет в рейтинге" in ru and "Пересчитан" not in ru
