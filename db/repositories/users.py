"""Queries on users."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.models import User

SEEN_PRECISION = timedelta(minutes=1)


async def get(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def upsert_seen(
    session: AsyncSession,
    *,
    user_id: int,
    username: str | None,
    first_name: str | None,
    last_name: str | None,
    language: str,
    role: str = "user",
    now: datetime | None = None,
) -> tuple[User, bool]:
    """Create the user or refresh their names and last-seen time; returns (user, created). Nothing is
    written when nothing changed and they were seen within SEEN_PRECISION.

    Works the same on SQLite and PostgreSQL: insert in a savepoint, fall back to the existing row when a
    concurrent update of the same user inserted it first.
    """
    now = now or utcnow()
    user = await session.get(User, user_id)
    created = False
    if user is None:
        candidate = User(
            id=user_id,
            username=username,
            first_name=first_name,
            last_name=last_name,
            language=language,
            role=role,
            created_at=now,
            last_seen_at=now,
            settings={},
        )
        try:
            async with session.begin_nested():
                session.add(candidate)
            user, created = candidate, True
        except IntegrityError:
            user = await session.get(User, user_id, populate_existing=True)
            assert user is not None
    if not created:
        refresh_seen(
            user,
            username=username,
            first_name=first_name,
            last_name=last_name,
            language=language,
            role=role,
            now=now,
        )
    return user, created


def refresh_seen(
    user: User,
    *,
    username: str | None,
    first_name: str | None,
    last_name: str | None,
    language: str,
    role: str = "user",
    now: datetime,
) -> bool:
    """Bring a known user's names, language, role and last-seen time up to date; False when the row needs
    no write (only what differs is set: even an equal value assigned makes the commit run a flush)."""
    changes: dict[str, object] = {
        "username": username,
        "first_name": first_name,
        "last_name": last_name,
        "blocked_bot": False,
    }
    if not user.language_chosen:
        changes["language"] = language
    # Owners are whoever is in ADMIN_IDS now: a stored "owner" no longer there becomes "user" (and
    # never counted anyway: admin checks go by services/admin/roles.py staff_role).
    if (role == "owner") != (user.role == "owner"):
        changes["role"] = role
    changes = {name: value for name, value in changes.items() if getattr(user, name) != value}
    # Last seen to the minute: most updates change nothing and write nothing.
    if changes or now - user.last_seen_at >= SEEN_PRECISION:
        changes["last_seen_at"] = now
    for name, value in changes.items():
        setattr(user, name, value)
    return bool(changes)


async def set_blocked(session: AsyncSession, user_id: int, blocked: bool) -> None:
    await session.execute(update(User).where(User.id == user_id).values(blocked_bot=blocked))


async def set_language(session: AsyncSession, user: User, language: str) -> None:
    user.language = language
    user.language_chosen = True


async def ids(session: AsyncSession) -> list[int]:
    return list((await session.scalars(select(User.id))).all())
