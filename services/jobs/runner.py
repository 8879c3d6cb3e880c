"""Runs jobs once per period: the job_runs table is the truth, the scheduler only knocks.

A job has a cadence (every N minutes, or daily at a UTC time). `period_of(now)` names the slot `now` falls
in; `JobRunner.run` claims (job, period) with an insert that fails on conflict (both dialects), so a job
fired twice, or by two processes, does its work once. `catch_up(now)` runs each job whose current period
has no finished run: after downtime the missed run happens once, and older missed periods are folded into
it (the jobs themselves look back far enough: quotes have a grace window, renewals take everything due).
A period that failed, or whose job raised `RetryLater` (nobody could be reached yet), stays open: the next
knock runs it again. Daily jobs are knocked every hour, so such a period is retried within its day.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.repositories import notifications as repo

if TYPE_CHECKING:
    from services.jobs.tasks import JobContext

logger = logging.getLogger(__name__)

JobFunc = Callable[["JobContext", datetime], Awaitable[dict[str, Any]]]


class RetryLater(Exception):
    """Raised by a job that could not do its work yet (e.g. no admin has started the bot): the period is
    left open for the next knock, and no error alert goes out."""


@dataclass(frozen=True, slots=True)
class Cadence:
    """Every `minutes` minutes (aligned to the hour, plus `offset` minutes), or daily at hour:offset UTC."""

    minutes: int = 60
    offset: int = 0
    daily_hour: int | None = None

    def period_of(self, now: datetime) -> str:
        now = now.astimezone(UTC)
        if self.daily_hour is not None:
            slot = now.replace(hour=self.daily_hour, minute=self.offset, second=0, microsecond=0)
            if slot > now:
                slot -= timedelta(days=1)
            return slot.strftime("%Y-%m-%d")
        start = now.replace(minute=0, second=0, microsecond=0) + timedelta(minutes=self.offset)
        if start > now:
            start -= timedelta(hours=1)
        step = (now - start) // timedelta(minutes=self.minutes)
        slot = start + step * timedelta(minutes=self.minutes)
        return slot.strftime("%Y-%m-%dT%H:%M")

    def cron(self) -> dict[str, Any]:
        """APScheduler CronTrigger fields (UTC) that fire at the start of each period; a daily job is also
        knocked every hour after, so a period left open (failed, or nobody reached) runs again that day,
        while a done one is skipped at once."""
        if self.daily_hour is not None:
            return {"minute": self.offset}
        if self.minutes >= 60:
            return {"minute": self.offset}
        return {"minute": f"{self.offset % self.minutes}-59/{self.minutes}"}


@dataclass(frozen=True, slots=True)
class JobSpec:
    name: str
    func: JobFunc
    cadence: Cadence
    # A run still "running" after this long belongs to a process that died; another may take it over.
    stale_after: timedelta = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class RunOutcome:
    job: str
    period: str
    ran: bool  # False: another run had this period already
    result: dict[str, Any] | None = None
    error: str | None = None


class JobRunner:
    def __init__(
        self,
        specs: list[JobSpec],
        context: JobContext,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        self.specs = {spec.name: spec for spec in specs}
        self.context = context
        self.session_factory = session_factory

    async def run(self, name: str, now: datetime | None = None) -> RunOutcome:
        """Run job `name` for the period `now` falls in, unless that period already ran."""
        spec = self.specs[name]
        now = now or self.context.clock.now()
        period = spec.cadence.period_of(now)
        async with self.session_factory() as session:
            claimed = await repo.claim_job_run(session, name, period, now, stale_after=spec.stale_after)
            await session.commit()
        if not claimed:
            logger.debug("job %s %s already ran", name, period)
            return RunOutcome(name, period, ran=False)
        logger.debug("job %s %s starting", name, period)
        try:
            result = await spec.func(self.context, now)
        except RetryLater as reason:
            logger.info("job %s %s left open to run again: %s", name, period, reason)
            await self._finish(name, period, error=str(reason))
            return RunOutcome(name, period, ran=True, error=str(reason))
        except Exception as error:
            logger.exception("job %s %s failed", name, period)
            message = "".join(traceback.format_exception_only(type(error), error)).strip()
            await self._finish(name, period, error=message)
            if self.context.alerts is not None:
                self.context.alerts.error(None, error)
            return RunOutcome(name, period, ran=True, error=message)
        await self._finish(name, period, result=_jsonable(result))
        # A run that found nothing to do (every count zero, or skipped) is not worth a line in the log.
        did_work = any(isinstance(value, int) and value for value in result.values())
        logger.log(logging.INFO if did_work else logging.DEBUG, "job %s %s done: %s", name, period, result)
        return RunOutcome(name, period, ran=True, result=result)

    async def _finish(
        self, name: str, period: str, *, result: dict[str, Any] | None = None, error: str | None = None
    ) -> None:
        async with self.session_factory() as session:
            await repo.finish_job_run(
                session, name, period, self.context.clock.now(), result=result, error=error
            )
            await session.commit()

    async def catch_up(self, now: datetime | None = None) -> list[RunOutcome]:
        """Run every job whose current period has not finished (called at start-up)."""
        now = now or self.context.clock.now()
        outcomes = []
        for name, spec in self.specs.items():
            async with self.session_factory() as session:
                done = await repo.is_done(session, name, spec.cadence.period_of(now))
            if not done:
                outcomes.append(await self.run(name, now))
        return outcomes


def _jsonable(result: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (result or {}).items():
        out[str(key)] = value if isinstance(value, int | float | str | bool | None) else str(value)
    return out
