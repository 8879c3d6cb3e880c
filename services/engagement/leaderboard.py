"""The opt-in leaderboard: readers who chose to be on it, under a name they chose, ranked by their current
reading streak, then questions asked, then books on the shelf.

Off by default. Joining writes two things in one transaction: the consent in the user's settings (so the
/settings screen can show it) and the user's leaderboard row with the chosen name (rank 0: not ranked yet).
The scheduled refresh only ever UPDATEs rows that exist, so leaving (which deletes the row at once) can
never be undone by a refresh running at the same moment: there is nothing for it to update.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Book, BookStatus, ChatTurn, LeaderboardEntry, ReadingStreak, User
from services.engagement.streaks import local_day

SETTINGS_KEY = "leaderboard"
NAME_MIN, NAME_MAX = 2, 24
TOP = 10

# Links and @mentions would turn the board into an advert board.
_LINKISH = re.compile(r"@|https?:|www\.|t\.me/|telegram\.(me|dog)/|\.(com|ru|org|net|io)\b", re.IGNORECASE)
# Control, format (zero-width, bidi overrides), private-use and unassigned characters, line breaks.
_BAD_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}


@dataclass(frozen=True, slots=True)
class BoardLine:
    rank: int
    display_name: str
    books: int
    questions: int
    streak: int
    user_id: int


@dataclass(frozen=True, slots=True)
class Board:
    """What /top shows: the top lines, the asking user's own line (None when not ranked), whether they
    are on the board at all, how many are ranked, and when it was last refreshed (None: never)."""

    top: list[BoardLine]
    own: BoardLine | None
    joined: bool
    ranked: int
    refreshed_at: datetime | None


class NameRejected(ValueError):
    """A display name that cannot be used; `code` is one of: length, characters, link, taken."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def clean_name(text: str) -> str:
    """The display name as it will be shown (spaces collapsed, NFC), or NameRejected."""
    name = " ".join(unicodedata.normalize("NFC", text).split())
    if not NAME_MIN <= len(name) <= NAME_MAX:
        raise NameRejected("length")
    if any(unicodedata.category(ch) in _BAD_CATEGORIES for ch in name):
        raise NameRejected("characters")
    if _LINKISH.search(name):
        raise NameRejected("link")
    return name


def joined_name(user: User) -> str | None:
    """The name the user is on the board under, or None when they have not joined (the default)."""
    value = (user.settings or {}).get(SETTINGS_KEY)
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        return str(value["name"])
    return None


async def join(session: AsyncSession, user: User, text: str) -> str:
    """Put the user on the board under the name they typed (or rename them); commits. Returns the
    cleaned name; NameRejected when it cannot be used."""
    name = clean_name(text)
    # Another reader's name (in any case) is refused, so nobody passes for someone else on the board.
    # lower() is ASCII-only on SQLite: there a Cyrillic name differing only in case is let through.
    taken = await session.scalar(
        select(LeaderboardEntry.user_id)
        .where(func.lower(LeaderboardEntry.display_name) == name.lower(), LeaderboardEntry.user_id != user.id)
        .limit(1)
    )
    if taken is not None:
        raise NameRejected("taken")
    user.settings = {**(user.settings or {}), SETTINGS_KEY: {"name": name}}
    await session.flush()
    renamed = await session.execute(
        update(LeaderboardEntry).where(LeaderboardEntry.user_id == user.id).values(display_name=name)
    )
    if not renamed.rowcount:  # type: ignore[attr-defined]
        try:
            async with session.begin_nested():
                session.add(LeaderboardEntry(user_id=user.id, rank=0, display_name=name))
        except IntegrityError:  # a second join at the same moment made the row
            await session.execute(
                update(LeaderboardEntry).where(LeaderboardEntry.user_id == user.id).values(display_name=name)
            )
    await session.commit()
    return name


async def leave(session: AsyncSession, user: User) -> None:
    """Take the user off the board at once; commits. The consent goes first, then the row."""
    settings = dict(user.settings or {})
    settings.pop(SETTINGS_KEY, None)
    user.settings = settings
    await session.flush()
    await session.execute(delete(LeaderboardEntry).where(LeaderboardEntry.user_id == user.id))
    await session.commit()


async def refresh(session: AsyncSession, now: datetime) -> dict[str, Any]:
    """Recount every row on the board and rank them; commits. Banned users stay on it unranked (rank 0)."""
    rows = (
        await session.execute(
            select(LeaderboardEntry.user_id, User.timezone, User.banned).join(
                User, User.id == LeaderboardEntry.user_id
            )
        )
    ).all()
    if not rows:
        return {"ranked": 0, "hidden": 0}
    # A subquery, not a list of ids: the board may hold more readers than a statement may have parameters.
    on_board = select(LeaderboardEntry.user_id).scalar_subquery()
    books = dict(
        (
            await session.execute(
                select(Book.user_id, func.count())
                .where(Book.user_id.in_(on_board), Book.status == BookStatus.READY)
                .group_by(Book.user_id)
            )
        ).all()
    )
    questions = dict(
        (
            await session.execute(
                select(ChatTurn.user_id, func.count())
                .where(ChatTurn.user_id.in_(on_board))
                .group_by(ChatTurn.user_id)
            )
        ).all()
    )
    streaks = {
        row.user_id: (row.current, row.last_day)
        for row in await session.execute(
            select(ReadingStreak.user_id, ReadingStreak.current, ReadingStreak.last_day).where(
                ReadingStreak.user_id.in_(on_board)
            )
        )
    }

    def streak_of(user_id: int, timezone: str | None) -> int:
        current, last_day = streaks.get(user_id, (0, None))
        if last_day is None or last_day < local_day(now, timezone) - timedelta(days=1):
            return 0  # a day was missed: the streak is over, whatever the row still says
        return int(current or 0)

    figures = [
        {
            "uid": row.user_id,
            "books": int(books.get(row.user_id, 0)),
            "questions": int(questions.get(row.user_id, 0)),
            "streak": streak_of(row.user_id, row.timezone),
            "banned": bool(row.banned),
        }
        for row in rows
    ]
    shown = sorted(
        (f for f in figures if not f["banned"]),
        key=lambda f: (-f["streak"], -f["questions"], -f["books"], f["uid"]),
    )
    for position, f in enumerate(shown, start=1):
        f["rank"] = position
    for f in figures:
        f.setdefault("rank", 0)
        f["at"] = now
    table = cast(Table, LeaderboardEntry.__table__)
    # Core executemany by user id: a row deleted meanwhile (the user left) is simply not updated.
    await session.execute(
        update(table)
        .where(table.c.user_id == bindparam("uid"))
        .values(
            rank=bindparam("rank"),
            books=bindparam("books"),
            questions=bindparam("questions"),
            streak=bindparam("streak"),
            refreshed_at=bindparam("at"),
        ),
        [{k: f[k] for k in ("uid", "rank", "books", "questions", "streak", "at")} for f in figures],
    )
    await session.commit()
    return {"ranked": len(shown), "hidden": len(figures) - len(shown)}


def _line(entry: LeaderboardEntry) -> BoardLine:
    return BoardLine(
        rank=entry.rank,
        display_name=entry.display_name,
        books=entry.books,
        questions=entry.questions,
        streak=entry.streak,
        user_id=entry.user_id,
    )


async def board(session: AsyncSession, user_id: int, limit: int = TOP) -> Board:
    top = (
        await session.scalars(
            select(LeaderboardEntry)
            .where(LeaderboardEntry.rank > 0)
            .order_by(LeaderboardEntry.rank)
            .limit(limit)
        )
    ).all()
    own = await session.get(LeaderboardEntry, user_id, populate_existing=True)
    ranked = await session.scalar(
        select(func.count()).select_from(LeaderboardEntry).where(LeaderboardEntry.rank > 0)
    )
    refreshed = await session.scalar(
        select(func.max(LeaderboardEntry.refreshed_at)).where(LeaderboardEntry.rank > 0)
    )
    return Board(
        top=[_line(e) for e in top],
        own=_line(own) if own is not None and own.rank > 0 else None,
        joined=own is not None,
        ranked=int(ranked or 0),
        refreshed_at=refreshed,
    )


async def export_row(session: AsyncSession, user_id: int) -> dict[str, Any] | None:
    """The user's leaderboard line for /export (None when they are not on the board)."""
    entry = await session.get(LeaderboardEntry, user_id)
    if entry is None:
        return None
    return {
        "display_name": entry.display_name,
        "rank": entry.rank or None,
        "books": entry.books,
        "questions": entry.questions,
        "streak": entry.streak,
        "refreshed_at": entry.refreshed_at.isoformat() if entry.refreshed_at else None,
    }
