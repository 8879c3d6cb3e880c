"""`librarity scheduler`: the scheduled jobs in their own process (production runs exactly one).

Exactly one runs the jobs: it holds a lock (Redis with REDIS_URL, else a PostgreSQL advisory lock, else a
file in DATA_DIR; services/jobs/leader.py) and renews it; a second one started by mistake says so and idles,
and takes over when the first one's lock frees (it stopped, or died: SCHEDULER_LOCK_SECONDS later).
The jobs enqueue the background work or do small things themselves; each runs once per period anyway.

Without BOT_TOKEN, `--once JOB` runs the job against the sandbox running at SANDBOX_HOST:SANDBOX_PORT: its
Bot API, its token and its clock (moved with POST /api/control/clock), so every scheduled message can be
seen in the web chat. The sandbox itself runs the scheduler inside `librarity run`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from datetime import timedelta
from typing import Any

import aiohttp

from bot.settings import Settings

logger = logging.getLogger(__name__)


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "scheduler", help="run the scheduled jobs (daily quotes, digests, renewals, reports)"
    )
    parser.add_argument(
        "--once",
        metavar="JOB",
        help="run one job for the current period and exit ('all': every job); without BOT_TOKEN, against "
        "the running sandbox and its clock",
    )


async def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import build_context
    from bot.factory import create_bot
    from bot.sandbox.runner import SANDBOX_TOKEN
    from services.jobs.tasks import job_specs

    jobs = [spec.name for spec in job_specs(settings)]
    if args.once and args.once != "all" and args.once not in jobs:
        print(f"no job {args.once!r}; the jobs: {', '.join(jobs)} (or 'all')")
        return 2
    sandbox_offset: timedelta | None = None
    if settings.sandbox:
        if not args.once:
            print("BOT_TOKEN is not set: the sandbox runs the scheduler inside `librarity run`")
            return 2
        base = sandbox_url(settings)
        sandbox_offset = await _sandbox_clock_offset(base)
        if sandbox_offset is None:
            print(
                f"BOT_TOKEN is not set and no sandbox answers at {base}: "
                "start one with `librarity sandbox`, or set BOT_TOKEN"
            )
            return 2
    # Every feature's start-up runs here too, so the jobs find billing's and ingestion's hooks wired
    # (a re-checked payment is told to its user from this process). The jobs start below, under the lock.
    settings.scheduler_enabled = False
    ctx = await build_context(settings)
    if sandbox_offset is None:
        bot = create_bot(settings)
    else:
        bot = create_bot(settings, token=SANDBOX_TOKEN, api_url=sandbox_url(settings))
        ctx.services["clock"].offset = sandbox_offset  # the jobs see the sandbox's time
    try:
        await ctx.start(bot)
        if args.once:
            runner = ctx.services["jobs"]
            for name in jobs if args.once == "all" else [args.once]:
                print(await runner.run(name))
            return 0
        await _lead_while_running(ctx)
        return 0
    finally:
        await ctx.close()
        await bot.session.close()


def sandbox_url(settings: Settings) -> str:
    """Where the sandbox answers (one listening on every interface is reached on this machine)."""
    host = "127.0.0.1" if settings.sandbox_host in ("", "0.0.0.0", "::") else settings.sandbox_host
    return f"http://{host}:{settings.sandbox_port}"


async def _sandbox_clock_offset(base: str) -> timedelta | None:
    """How far the sandbox's clock is moved; None when no sandbox answers at `base`."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
            session.get(f"{base}/api/control/clock") as response,
        ):
            if response.status != 200:
                return None
            clock = await response.json()
        return timedelta(seconds=float(clock["offset_seconds"]))
    except (aiohttp.ClientError, TimeoutError, ValueError, KeyError):
        return None


def scheduler_lock(ctx: Any) -> Any:
    """The lock that makes this the only scheduler: Redis, else PostgreSQL, else a file in DATA_DIR."""
    from services.jobs.leader import FileLeaderLock, PostgresLeaderLock, RedisLeaderLock

    ttl = ctx.settings.scheduler_lock_seconds
    if ctx.redis is not None:
        return RedisLeaderLock(ctx.redis, ttl=ttl, key=f"{ctx.settings.task_queue}:scheduler")
    if ctx.engine.dialect.name == "postgresql":
        return PostgresLeaderLock(ctx.engine, ttl=ttl)
    return FileLeaderLock(ctx.settings.data_dir / "scheduler.lock", ttl=ttl)


async def _lead_while_running(ctx: Any) -> None:
    """Run the jobs while this process holds the scheduler lock, until SIGTERM/SIGINT."""
    from services.jobs.leader import hold_leadership
    from services.jobs.scheduler import JobScheduler

    stop = asyncio.Event()
    scheduler: JobScheduler | None = None

    async def lead() -> None:
        nonlocal scheduler
        scheduler = JobScheduler(ctx.services["jobs"])
        scheduler.start()

    async def lose() -> None:
        nonlocal scheduler
        if scheduler is not None:
            await scheduler.stop()
            scheduler = None

    def say(line: str) -> None:
        logger.info(line)
        print(line, flush=True)

    waiter = asyncio.create_task(_wait_for_signal())
    waiter.add_done_callback(lambda _: stop.set())
    try:
        await hold_leadership(scheduler_lock(ctx), on_lead=lead, on_lose=lose, stop=stop, say=say)
    finally:
        waiter.cancel()


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
