"""APScheduler 3 wiring: one cron trigger per job, which only asks the JobRunner to run the period.

coalesce + misfire_grace_time make a trigger that fired late (a busy loop, a short pause) run once; the
runner's catch-up at start-up covers longer downtime from the job_runs table.
"""

from __future__ import annotations

import asyncio
import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from services.jobs.runner import JobRunner

logger = logging.getLogger(__name__)

MISFIRE_GRACE_SECONDS = 15 * 60


class JobScheduler:
    """Starts and stops the scheduled jobs of one process."""

    def __init__(self, runner: JobRunner) -> None:
        self.runner = runner
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self._catch_up: asyncio.Task[object] | None = None
        for name, spec in runner.specs.items():
            self.scheduler.add_job(
                runner.run,
                CronTrigger(timezone="UTC", **spec.cadence.cron()),
                args=[name],
                id=name,
                name=name,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=MISFIRE_GRACE_SECONDS,
                replace_existing=True,
            )

    def start(self) -> None:
        self.scheduler.start()
        self._catch_up = asyncio.create_task(self.runner.catch_up(), name="jobs-catch-up")
        logger.info("scheduler started: %s", ", ".join(self.runner.specs))

    async def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self._catch_up is not None and not self._catch_up.done():
            self._catch_up.cancel()
            try:
                await self._catch_up
            except (asyncio.CancelledError, Exception):
                pass
