"""The command line: `librarity run | sandbox | migrate | worker | scheduler | ingest | ask | bench`."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import sys

from bot.settings import SettingsError, load_settings

# Each name is a module bot/cli/<name>.py with `add_parser(subparsers)` and `async run(args, settings)`.
COMMANDS = ["run", "sandbox", "migrate", "scheduler", "worker", "ingest", "ask", "bench"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="librarity", description="Librarity: talk to your books.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"bot.cli.{name}")
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    module = importlib.import_module(f"bot.cli.{args.command}")
    try:
        return asyncio.run(module.run(args, settings)) or 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
