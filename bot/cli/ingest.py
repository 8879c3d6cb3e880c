"""`librarity ingest PATH [--user ID] [--json]`: index a book as a user, from the command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from bot.cli import LOCAL_USER_ID
from bot.settings import Settings


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("ingest", help="read and index a book as a user (default: the local user)")
    parser.add_argument("path", type=Path, help="the book file")
    parser.add_argument(
        "--user", type=int, default=LOCAL_USER_ID, help=f"Telegram user id (default {LOCAL_USER_ID})"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


async def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.wiring.ingestion import standalone
    from db.repositories import users
    from services.ingestion.errors import IngestionError

    path: Path = args.path
    if not await asyncio.to_thread(path.is_file):
        print(f"no such file: {path}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    async with standalone(settings) as service:
        async with service.sessions() as session:
            if await users.get(session, args.user) is None:
                await users.upsert_seen(
                    session, user_id=args.user, username=None, first_name="Local", last_name=None,
                    language=settings.default_locale,
                )  # fmt: skip
                await session.commit()
        try:
            book = await service.ingest(args.user, path, path.name)
        except IngestionError as error:
            result: dict[str, Any] = {
                "book_id": None, "title": None, "pages": None, "chunks": 0,
                "seconds": round(time.perf_counter() - started, 3), "status": "failed",
                "error_code": error.code.value,
            }  # fmt: skip
        else:
            result = {
                "book_id": book.id,
                "title": book.title,
                "pages": book.pages,
                "chunks": book.chunks,
                "seconds": round(time.perf_counter() - started, 3),
                "status": book.status,
            }
            if book.error_code:
                result["error_code"] = book.error_code
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    elif result["status"] == "ready":
        print(
            f"book {result['book_id']}: {result['title']!r}, {result['chunks']} chunks, {result['seconds']}s"
        )
    else:
        print(f"failed: {result.get('error_code')}", file=sys.stderr)
    return 0 if result["status"] == "ready" else 1
