"""Admin: the audit log of everything admins do, and bans (with whether the banned user was told).

`admin_audit_log` is append-only: who (actor), what (action), to whom (target user), details, when.
`user_bans` holds one row per banned user next to `users.banned`; `notified_at` makes the "you are banned"
message go out once, claimed with a conditional update so two updates at once still send one message.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, BigIntId, UTCDateTime, utcnow


class AuditEntry(Base):
    """One admin action."""

    __tablename__ = "admin_audit_log"
    __table_args__ = (
        Index("ix_admin_audit_log_target_user_id_created_at", "target_user_id", "created_at"),
        Index("ix_admin_audit_log_actor_id_created_at", "actor_id", "created_at"),
        Index("ix_admin_audit_log_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    actor_id: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(48))  # "credits.grant", "user.ban", ... (services.admin.audit)
    target_user_id: Mapped[int | None] = mapped_column(BigInteger)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UserBan(Base):
    """A ban in force (deleted on unban)."""

    __tablename__ = "user_bans"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    banned_by: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(String(255))
    banned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the user was told they are banned; NULL until their first update after the ban.
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
