"""The job runner: periods, claims on both databases, failures retried, stale runs taken over."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from db.repositories import notifications as repo
from services.jobs.runner import Cadence, JobRunner, JobSpec
from tests.support_notifications import clock_at, make_job_env


def test_periods() -> None:
    at = datetime(2025, 3, 1, 10, 47, 30, tzinfo=UTC)
    assert Cadence(minutes=60).period_of(at) == "2025-03-01T10:00"
    assert Cadence(minutes=60, offset=50).period_of(at) == "2025-03-01T09:50"
    assert Cadence(minutes=10, offset=3).period_of(at) == "2025-03-01T10:43"
    assert Cadence(daily_hour=9).period_of(at) == "2025-03-01"
    assert Cadence(daily_hour=11).period_of(at) == "2025-02-28"
    assert Cadence(minutes=10, offset=3).cron() == {"minute": "3-59/10"}
    # A daily job is knocked every hour: a period left open (failed, nobody reached) runs again that day.
    assert Cadence(daily_hour=3, offset=30).cron() == {"minute": 30}


async def test_claims_hold_across_concurrent_runs(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    env = make_job_env(session_factory, settings, clock_at(2025, 3, 1, 10))
    calls: list[datetime] = []

    async def job(ctx: Any, now: datetime) -> dict[str, Any]:
        calls.append(now)
        await asyncio.sleep(0.01)
        return {"ok": 1}

    runner = JobRunner([JobSpec("probe", job, Cadence(minutes=60))], env.context, session_factory)
    outcomes = await asyncio.gather(*(runner.run("probe") for _ in range(5)))
    assert sum(o.ran for o in outcomes) == 1 and len(calls) == 1


async def test_failed_run_is_retried_and_stale_run_taken_over(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    clock = clock_at(2025, 3, 1, 10)
    env = make_job_env(session_factory, settings, clock)
    attempts: list[int] = []

    async def flaky(ctx: Any, now: datetime) -> dict[str, Any]:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("database hiccup")
        return {"ok": 1}

    runner = JobRunner([JobSpec("flaky", flaky, Cadence(minutes=60))], env.context, session_factory)
    first = await runner.run("flaky")
    assert first.ran and first.error and "database hiccup" in first.error
    second = await runner.run("flaky")
    assert second.ran and second.error is None
    assert not (await runner.run("flaky")).ran

    # A run left "running" by a dead process is taken over once it is stale, not before.
    async with session_factory() as session:
        assert await repo.claim_job_run(session, "orphan", "p", clock.now(), stale_after=timedelta(hours=1))
        await session.commit()
    async with session_factory() as session:
        assert not await repo.claim_job_run(
            session, "orphan", "p", clock.now() + timedelta(minutes=30), stale_after=timedelta(hours=1)
        )
        assert await repo.claim_job_run(
            session, "orphan", "p", clock.now() + timedelta(hours=2), stale_after=timedelta(hours=1)
        )
        await session.commit()
    assert env.alerts is not None
