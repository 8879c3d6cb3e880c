"""`librarity sandbox`: the bot with a local Telegram and a web chat page."""

from __future__ import annotations

import argparse
from typing import Any

from bot.settings import Settings


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("sandbox", help="run the bot against the local Telegram sandbox")
    parser.add_argument("--host", default=None)
    parser.add_argument("--port", type=int, default=None)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.sandbox.runner import run_sandbox

    if args.host:
        settings.sandbox_host = args.host
    if args.port:
        settings.sandbox_port = args.port
    await run_sandbox(settings)
    return 0
