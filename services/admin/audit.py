"""The audit log: every admin action, written in the same transaction as the change it records."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.models import AuditEntry


class AuditAction(StrEnum):
    CREDITS_GRANT = "credits.grant"
    CREDITS_TAKE = "credits.take"
    PLAN_SET = "plan.set"
    ROLE_SET = "role.set"
    USER_BAN = "user.ban"
    USER_UNBAN = "user.unban"
    USER_DELETE_DATA = "user.delete_data"
    BOOK_REPROCESS = "book.reprocess"
    BOOK_DELETE = "book.delete"
    PAYMENT_REFUND = "payment.refund"
    BROADCAST_CREATE = "broadcast.create"
    BROADCAST_START = "broadcast.start"
    BROADCAST_CANCEL = "broadcast.cancel"
    EXPORT_USERS = "export.users"
    EXPORT_PAYMENTS = "export.payments"


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_json_safe(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


class AuditLog:
    """Writes and reads `admin_audit_log`. `record` adds to the caller's session and never commits."""

    async def record(
        self,
        session: AsyncSession,
        actor_id: int,
        action: AuditAction | str,
        target_user_id: int | None = None,
        *,
        now: datetime | None = None,
        **details: Any,
    ) -> AuditEntry:
        entry = AuditEntry(
            actor_id=actor_id,
            action=str(action),
            target_user_id=target_user_id,
            details=_json_safe(details),
            created_at=now or utcnow(),
        )
        session.add(entry)
        await session.flush()
        return entry

    async def recent(
        self,
        session: AsyncSession,
        *,
        target_user_id: int | None = None,
        actor_id: int | None = None,
        action: str | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> list[AuditEntry]:
        """Newest first, optionally about one user, by one admin or of one kind."""
        query = select(AuditEntry)
        if target_user_id is not None:
            query = query.where(AuditEntry.target_user_id == target_user_id)
        if actor_id is not None:
            query = query.where(AuditEntry.actor_id == actor_id)
        if action is not None:
            query = query.where(AuditEntry.action == action)
        query = query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).offset(offset).limit(limit)
        return list((await session.scalars(query)).all())

    async def count(self, session: AsyncSession, *, target_user_id: int | None = None) -> int:
        query = select(func.count(AuditEntry.id))
        if target_user_id is not None:
            query = query.where(AuditEntry.target_user_id == target_user_id)
        return int(await session.scalar(query) or 0)
