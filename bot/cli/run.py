"""`librarity run`: Telegram when BOT_TOKEN is set (polling or webhook), otherwise the sandbox."""

from __future__ import annotations

import argparse
from typing import Any

from bot.settings import Settings


def add_parser(sub: Any) -> None:
    sub.add_parser("run", help="run the bot (the sandbox when BOT_TOKEN is unset)")


async def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.runners import run as run_bot  # aiogram and the whole bot: only when it runs

    await run_bot(settings)
    return 0
