"""Bans: `users.banned` plus a `user_bans` row that remembers who banned, why, and whether the user has
been told (once)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.models import User, UserBan
from services.billing.sql import insert_ignoring_conflicts


class BanRegistry:
    """Nothing here commits: the caller's transaction holds the ban and its audit entry together."""

    async def ban(
        self,
        session: AsyncSession,
        user: User,
        *,
        by: int | None,
        reason: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Ban the user; False when they were banned already (nothing changes)."""
        if user.banned:
            return False
        now = now or utcnow()
        user.banned = True
        # A stale row (banned by hand in SQL and unbanned the same way) is replaced, so the notice goes out.
        await session.execute(delete(UserBan).where(UserBan.user_id == user.id))
        session.add(
            UserBan(user_id=user.id, banned_by=by, reason=(reason or None) and reason[:255], banned_at=now)
        )
        await session.flush()
        return True

    async def unban(self, session: AsyncSession, user: User) -> bool:
        """Lift the ban; False when there was none."""
        was_banned = user.banned
        user.banned = False
        await session.execute(delete(UserBan).where(UserBan.user_id == user.id))
        await session.flush()
        return was_banned

    async def get(self, session: AsyncSession, user_id: int) -> UserBan | None:
        return await session.get(UserBan, user_id)

    async def claim_notice(self, session: AsyncSession, user_id: int, now: datetime | None = None) -> bool:
        """True exactly once per ban: for the one update that should tell the user they are banned.

        A conditional update (or an insert that loses to a concurrent one), never read-then-write, so two
        updates arriving together send one message.
        """
        now = now or utcnow()
        result = await session.execute(
            update(UserBan)
            .where(UserBan.user_id == user_id, UserBan.notified_at.is_(None))
            .values(notified_at=now),
            execution_options={"synchronize_session": False},
        )
        if result.rowcount:  # type: ignore[attr-defined]
            return True
        # `users.banned` set without a row (by hand, or before this table existed).
        statement = insert_ignoring_conflicts(
            session,
            UserBan,
            {"user_id": user_id, "banned_by": None, "reason": None, "banned_at": now, "notified_at": now},
            conflict_columns=["user_id"],
        ).returning(UserBan.user_id)
        return (await session.execute(statement)).first() is not None
