"""`librarity worker`: background work without serving updates — every feature's start-up work
(ingestion queue, broadcasts resuming), the scheduler left to `librarity scheduler`."""

from __future__ import annotations

import argparse
from typing import Any

from bot.settings import Settings


def add_parser(sub: Any) -> None:
    sub.add_parser("worker", help="run background work (book ingestion, broadcasts) without serving updates")


async def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import build_context
    from bot.cli.scheduler import _wait_for_signal
    from bot.factory import create_bot

    if settings.sandbox:
        print("BOT_TOKEN is not set: the sandbox does background work inside `librarity run`")
        return 2
    settings.scheduler_enabled = False
    ctx = await build_context(settings)
    bot = create_bot(settings)
    try:
        await ctx.start(bot)
        await _wait_for_signal()
        return 0
    finally:
        await ctx.close()
        await bot.session.close()
