"""Finding users by id, @username or name, forgiving case and small typos, on SQLite and PostgreSQL.

1. A number is an id; `@name` (or a bare word) is a username, matched exactly without regard to case.
2. A case-insensitive substring of the username, first, last or full name. PostgreSQL's ILIKE folds any
   alphabet; SQLite's LIKE folds only ASCII, so there the query also tries the usual case forms of the
   text (иван, Иван, ИВАН) and every candidate is checked again in Python with `casefold`.
3. When that finds too little, the most recently seen users (a bounded scan, in a thread) are ranked by
   difflib's similarity ratio, so "Ivnov" still finds "Ivanov".
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import parse_number
from db.models import User

SCAN_LIMIT = 5000
MIN_RATIO = 0.6
_ID = re.compile(r"#?([0-9]{1,19})")


@dataclass(frozen=True, slots=True)
class UserMatch:
    user_id: int
    username: str | None
    first_name: str | None
    last_name: str | None
    score: float  # higher is better: id 4, username 3, whole name 2, substring 1..2, fuzzy < 1

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


Row = tuple[int, str | None, str | None, str | None]


def _fields(row: Row) -> list[str]:
    _, username, first, last = row
    full = " ".join(p for p in (first, last) if p)
    return [f.casefold() for f in (username, first, last, full) if f]


def substring_score(needle: str, row: Row) -> float | None:
    """1..2 when `needle` (casefolded) is inside a name: the larger the share it covers, the higher;
    2 for a whole name. None when it is in none."""
    best: float | None = None
    for field in _fields(row):
        if needle in field:
            score = 2.0 if needle == field else 1.0 + len(needle) / len(field)
            best = score if best is None else max(best, score)
    return best


def fuzzy_score(needle: str, row: Row) -> float:
    """The best difflib ratio of `needle` against each name and each word of it (0..1)."""
    best = 0.0
    for field in _fields(row):
        for candidate in {field, *field.split()}:
            matcher = SequenceMatcher(None, needle, candidate)
            # The cheap upper bounds skip most candidates before the real ratio is computed.
            if matcher.real_quick_ratio() <= best or matcher.quick_ratio() <= best:
                continue
            best = max(best, matcher.ratio())
    return best


def _row(raw: Any) -> Row:
    return (int(raw[0]), raw[1], raw[2], raw[3])


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class UserSearch:
    """See the module docstring."""

    def __init__(self, *, scan_limit: int = SCAN_LIMIT, min_ratio: float = MIN_RATIO) -> None:
        self.scan_limit = scan_limit
        self.min_ratio = min_ratio

    async def search(self, session: AsyncSession, query: str, *, limit: int = 50) -> list[UserMatch]:
        """The best matches, best first (at most `limit`)."""
        text = " ".join(query.split())
        if not text:
            return []
        found: dict[int, UserMatch] = {}

        def keep(row: Row, score: float) -> None:
            current = found.get(row[0])
            if current is None or current.score < score:
                found[row[0]] = UserMatch(row[0], row[1], row[2], row[3], score)

        columns = (User.id, User.username, User.first_name, User.last_name)
        if (match := _ID.fullmatch(text)) and (user_id := parse_number(match.group(1))) is not None:
            exact = (await session.execute(select(*columns).where(User.id == user_id))).first()
            if exact is not None:
                keep(_row(exact), 4.0)
        name = text.removeprefix("@").strip()
        needle = name.casefold()
        if not needle:
            return list(found.values())
        if " " not in name:
            rows = await session.execute(select(*columns).where(func.lower(User.username) == name.lower()))
            for raw in rows.all():
                keep(_row(raw), 3.0)
        rows = await session.execute(
            select(*columns).where(self._substring_filter(session, name)).limit(limit * 4)
        )
        for raw in rows.all():
            score = substring_score(needle, _row(raw))
            if score is not None:
                keep(_row(raw), score)
        if len(found) < limit and len(needle) >= 3:
            recent = await session.execute(
                select(*columns).order_by(User.last_seen_at.desc(), User.id).limit(self.scan_limit)
            )
            candidates = [_row(r) for r in recent.all() if r[0] not in found]
            for candidate, fuzzy in await asyncio.to_thread(self._rank, needle, candidates):
                keep(candidate, fuzzy)
        ranked = sorted(found.values(), key=lambda m: (-m.score, m.user_id))
        return ranked[:limit]

    def _rank(self, needle: str, rows: list[Row]) -> list[tuple[Row, float]]:
        scored = ((row, fuzzy_score(needle, row)) for row in rows)
        return [(row, score) for row, score in scored if score >= self.min_ratio]

    @staticmethod
    def _substring_filter(session: AsyncSession, name: str) -> ColumnElement[bool]:
        full = func.coalesce(User.first_name, "") + " " + func.coalesce(User.last_name, "")
        columns = (User.username, User.first_name, User.last_name, full)
        if session.get_bind().dialect.name == "postgresql":
            pattern = f"%{_like_escape(name)}%"
            return or_(*(column.ilike(pattern, escape="\\") for column in columns))
        variants = {name, name.lower(), name.upper(), name.capitalize(), name.title()}
        return or_(
            *(
                column.like(f"%{_like_escape(v)}%", escape="\\")
                for v in sorted(variants)
                for column in columns
            )
        )
