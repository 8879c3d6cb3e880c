"""The command line: `librarity run | sandbox | migrate | worker | scheduler | ingest | ask | bench`."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys

from bot.settings import Settings, SettingsError, StartupError, load_settings
from db.engine import connection_problem

# Each name is a module bot/cli/<name>.py with `add_parser(subparsers)` and `async run(args, settings)`.
COMMANDS = ["run", "sandbox", "migrate", "scheduler", "worker", "ingest", "ask", "bench"]
# These open DATABASE_URL: it is tried first, so a database that cannot be reached is one clear line.
OPENS_DATABASE = {"run", "sandbox", "migrate", "scheduler", "worker", "ingest", "ask"}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="librarity", description="Librarity: talk to your books.")
    sub = parser.add_subparsers(dest="command", required=True)
    words = sys.argv[1:] if argv is None else argv
    for name in COMMANDS:
        module = importlib.import_module(f"bot.cli.{name}")
        if name == "bench":  # the benchmarks' options import the whole search stack: only for `bench`
            module.add_parser(sub, detailed="bench" in words)
        else:
            module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    args = build_parser(argv).parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    except StartupError as error:
        print(error, file=sys.stderr)
        return 1
    from bot.observability import setup_logging, setup_sentry

    setup_logging(settings.log_level, settings.log_format)
    setup_sentry(settings)
    try:
        return asyncio.run(_run(args, settings)) or 0
    except StartupError as error:
        print(error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command in OPENS_DATABASE:
        problem = await connection_problem(settings.effective_database_url)
        if problem is not None:
            raise StartupError(f"DATABASE_URL: cannot connect to the database ({problem})")
    module = importlib.import_module(f"bot.cli.{args.command}")
    return int(await module.run(args, settings) or 0)


if __name__ == "__main__":
    sys.exit(main())
