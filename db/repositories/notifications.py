"""Queries on job runs and deliveries: claims that hold on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Delivery, JobRun


def _insert_ignoring_conflicts(session: AsyncSession, table: Table) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING in the session's dialect (both dialects spell it alike)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


# --- job runs ---------------------------------------------------------------------------------------


async def claim_job_run(
    session: AsyncSession, job: str, period: str, now: datetime, *, stale_after: timedelta
) -> bool:
    """Take (job, period) for this process. True when this caller should do the work.

    A period that failed, or whose run has been "running" longer than `stale_after` (the process died), can
    be taken over; a done one never again.
    """
    table = JobRun.__table__
    stmt = (
        _insert_ignoring_conflicts(session, table)  # type: ignore[arg-type]
        .values(job=job, period=period, status="running", attempts=1, started_at=now, result={})
        .returning(table.c.id)
    )
    if (await session.execute(stmt)).first() is not None:
        return True
    taken = await session.execute(
        update(JobRun)
        .where(
            JobRun.job == job,
            JobRun.period == period,
            or_(
                JobRun.status == "failed",
                (JobRun.status == "running") & (JobRun.started_at < now - stale_after),
            ),
        )
        .values(status="running", attempts=JobRun.attempts + 1, started_at=now, error=None)
    )
    return bool(taken.rowcount)  # type: ignore[attr-defined]


async def finish_job_run(
    session: AsyncSession,
    job: str,
    period: str,
    now: datetime,
    *,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    await session.execute(
        update(JobRun)
        .where(JobRun.job == job, JobRun.period == period)
        .values(
            status="failed" if error else "done",
            finished_at=now,
            result=result or {},
            error=error[:2000] if error else None,
        )
    )


async def job_run(session: AsyncSession, job: str, period: str) -> JobRun | None:
    return await session.scalar(select(JobRun).where(JobRun.job == job, JobRun.period == period))


async def is_done(session: AsyncSession, job: str, period: str) -> bool:
    run = await job_run(session, job, period)
    return run is not None and run.status == "done"


# --- deliveries -------------------------------------------------------------------------------------


async def claim_delivery(
    session: AsyncSession,
    campaign: str,
    user_id: int,
    now: datetime,
    *,
    details: dict[str, Any] | None = None,
) -> int | None:
    """Record that `campaign` is being sent to `user_id`; the delivery id, or None when someone already did."""
    table = Delivery.__table__
    stmt = (
        _insert_ignoring_conflicts(session, table)  # type: ignore[arg-type]
        .values(
            campaign=campaign,
            user_id=user_id,
            status="sending",
            details=details or {},
            created_at=now,
            updated_at=now,
        )
        .returning(table.c.id)
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else int(row[0])


async def add_pending(session: AsyncSession, campaign: str, user_ids: Iterable[int], now: datetime) -> int:
    """Queue `campaign` for each user (already queued users are left as they are); how many were added."""
    rows = [
        {
            "campaign": campaign,
            "user_id": uid,
            "status": "pending",
            "details": {},
            "created_at": now,
            "updated_at": now,
        }
        for uid in user_ids
    ]
    if not rows:
        return 0
    table = Delivery.__table__
    stmt = _insert_ignoring_conflicts(session, table).returning(table.c.id)  # type: ignore[arg-type]
    result = await session.execute(stmt, rows)
    return len(result.all())


async def take_pending(session: AsyncSession, delivery_id: int, now: datetime) -> bool:
    """Move one pending delivery to "sending"; False when another worker took it first."""
    result = await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status == "pending")
        .values(status="sending", updated_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def pending_batch(session: AsyncSession, campaign: str, limit: int) -> Sequence[tuple[int, int]]:
    """(delivery id, user id) of the next pending deliveries of a campaign, oldest first."""
    rows = await session.execute(
        select(Delivery.id, Delivery.user_id)
        .where(Delivery.campaign == campaign, Delivery.status == "pending")
        .order_by(Delivery.id)
        .limit(limit)
    )
    return [(int(r[0]), int(r[1])) for r in rows.all()]


async def finish_delivery(
    session: AsyncSession, delivery_id: int, status: str, now: datetime, *, error: str | None = None
) -> None:
    await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(status=status, updated_at=now, error=error[:255] if error else None)
    )


async def release_delivery(session: AsyncSession, delivery_id: int) -> None:
    """Forget a claim whose message was never attempted (nothing to send), so a later run may try again."""
    await session.execute(delete(Delivery).where(Delivery.id == delivery_id, Delivery.status == "sending"))


async def mark_interrupted(session: AsyncSession, campaign: str, now: datetime) -> int:
    """Deliveries left "sending" by a process that died: they may have reached the user, so never resend."""
    result = await session.execute(
        update(Delivery)
        .where(Delivery.campaign == campaign, Delivery.status == "sending")
        .values(status="unknown", updated_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def status_counts(session: AsyncSession, campaign: str) -> dict[str, int]:
    rows = await session.execute(
        select(Delivery.status, func.count()).where(Delivery.campaign == campaign).group_by(Delivery.status)
    )
    return {str(status): int(count) for status, count in rows.all()}


async def campaign_user_ids(session: AsyncSession, campaign: str) -> set[int]:
    rows = await session.scalars(select(Delivery.user_id).where(Delivery.campaign == campaign))
    return set(rows.all())


async def delete_deliveries_before(session: AsyncSession, before: datetime, *, keep_prefix: str) -> int:
    """Delete old per-period deliveries (their periods are over); campaigns starting with keep_prefix stay."""
    result = await session.execute(
        delete(Delivery).where(Delivery.created_at < before, ~Delivery.campaign.startswith(keep_prefix))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def delete_job_runs_before(session: AsyncSession, before: datetime) -> int:
    result = await session.execute(delete(JobRun).where(JobRun.started_at < before, JobRun.status == "done"))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
