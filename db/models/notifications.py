"""Notifications, scheduled job runs, broadcasts and analytics events.

- `job_runs`: one row per job and period (unique), so a job that runs twice, or in two processes, does
  its work once; a missed period is found by its absent row.
- `deliveries`: one row per campaign and user (unique): a broadcast, a day's quote, a week's digest, an
  inactivity spell. The row is claimed before the message is sent, so a restart never sends twice.
- `broadcasts`: what admins send to many users, with the audience and the progress.
- `events`: analytics, one row per thing a user did (user, kind, properties, time).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, BigIntId, UTCDateTime, utcnow


class JobRun(Base):
    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "period", name="uq_job_runs_job_period"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("campaign", "user_id", name="uq_deliveries_campaign_user_id"),
        Index("ix_deliveries_campaign_status", "campaign", "status"),
        Index("ix_deliveries_user_id_created_at", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    # "broadcast:12", "quote:2025-03-01", "digest:2025-W09", "reengage7:2025-02-20", ...
    campaign: Mapped[str] = mapped_column(String(96))
    user_id: Mapped[int] = mapped_column(BigInteger)
    # pending | sending | sent | failed | blocked | skipped | unknown (interrupted mid-send)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    error: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Broadcast(Base):
    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    text: Mapped[str | None] = mapped_column(Text)
    photo_file_id: Mapped[str | None] = mapped_column(String(255))
    button_text: Mapped[str | None] = mapped_column(String(64))
    button_url: Mapped[str | None] = mapped_column(String(512))
    audience: Mapped[str] = mapped_column(String(16), default="all")  # all | active | plan | language
    audience_value: Mapped[str | None] = mapped_column(String(32))
    # draft | running | cancelled | done
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    total: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_kind_created_at", "kind", "created_at"),
        Index("ix_events_user_id_created_at", "user_id", "created_at"),
        Index("ix_events_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(48))
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
