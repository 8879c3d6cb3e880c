"""`librarity worker`: runs the background tasks (reading books, dense vectors, broadcasts) from the Redis
stream, without serving updates; start as many as the work needs. Each builds the same services as the
bot (so it tells users about their books and sends broadcasts through its own Bot), hands them to the
tasks at the broker's WORKER_STARTUP, and runs taskiq's receiver in this process. The scheduled jobs are
left to `librarity scheduler`.

On SIGTERM/SIGINT it stops taking tasks and exits; what it held is delivered again to another worker
after TASK_REDELIVER_SECONDS (so is what a killed worker held)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from typing import Any

from bot.settings import Settings

logger = logging.getLogger(__name__)


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "worker", help="run background work (book ingestion, broadcasts) from Redis, without serving updates"
    )
    parser.add_argument(
        "--concurrency", type=int, default=None, help="tasks run at once (default WORKER_CONCURRENCY)"
    )


async def run(args: argparse.Namespace, settings: Settings) -> int:
    from taskiq.api import run_receiver_task

    from bot.app import build_context
    from bot.cli.scheduler import _wait_for_signal
    from bot.factory import create_bot

    if not settings.redis_url:
        print("REDIS_URL is not set: without it `librarity run` does the background work itself")
        return 2
    if settings.sandbox:
        print("BOT_TOKEN is not set: the sandbox does its background work inside `librarity run`")
        return 2
    settings.scheduler_enabled = False
    ctx = await build_context(settings)
    bot = create_bot(settings)
    tasks = ctx.services["tasks"]
    tasks.broker.is_worker_process = True  # its start-up is WORKER_STARTUP: the tasks get the services
    receiver: asyncio.Task[None] | None = None
    try:
        await ctx.start(bot)
        concurrency = args.concurrency or settings.worker_concurrency
        receiver = asyncio.create_task(
            run_receiver_task(tasks.broker, max_async_tasks=concurrency, max_prefetch=0),
            name="task-receiver",
        )
        logger.info("worker %s: taking tasks, %d at once", tasks.broker.consumer_name, concurrency)
        print(f"worker ready: {concurrency} task(s) at once", flush=True)
        stop = asyncio.create_task(_wait_for_signal())
        done, _ = await asyncio.wait({receiver, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if receiver in done:
            receiver.result()  # the receiver ended on its own: say why
            return 1
        return 0
    finally:
        if receiver is not None and not receiver.done():
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await receiver
        await ctx.close()
        await bot.session.close()
