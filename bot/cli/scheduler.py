"""`librarity scheduler`: the scheduled jobs in their own process (production runs exactly one)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from typing import Any

from bot.settings import Settings


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "scheduler", help="run the scheduled jobs (daily quotes, digests, renewals, reports)"
    )
    parser.add_argument(
        "--once", metavar="JOB", help="run one job for the current period and exit ('all': every job)"
    )


async def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import build_context
    from bot.factory import create_bot

    if settings.sandbox:
        print("BOT_TOKEN is not set: the sandbox runs the scheduler inside `librarity run`")
        return 2
    # Every feature's start-up runs here too, so the jobs find billing's and ingestion's hooks wired
    # (a re-checked payment is told to its user from this process).
    settings.scheduler_enabled = not args.once
    ctx = await build_context(settings)
    bot = create_bot(settings)
    try:
        await ctx.start(bot)
        if args.once:
            runner = ctx.services["jobs"]
            names = list(runner.specs) if args.once == "all" else [args.once]
            for name in names:
                print(await runner.run(name))
            return 0
        await _wait_for_signal()
        return 0
    finally:
        await ctx.close()
        await bot.session.close()


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
