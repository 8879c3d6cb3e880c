"""`librarity migrate`: upgrade the database to the newest schema."""

from __future__ import annotations

import argparse
from typing import Any

from bot.settings import Settings


def add_parser(sub: Any) -> None:
    sub.add_parser("migrate", help="upgrade the database schema (Alembic upgrade head)")


async def run(args: argparse.Namespace, settings: Settings) -> int:
    from db.migrate import upgrade_async

    await upgrade_async(settings.effective_database_url)
    print("database is up to date")
    return 0
