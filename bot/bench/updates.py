"""`librarity bench updates`: how many ordinary updates a second the whole bot handles, beside bare aiogram.

Sides, measured in one process and taking turns round by round (the first to go rotates), so all see the
same machine load:
- bare: a Dispatcher with one echo handler, nothing else;
- sqlite, postgres: the real Dispatcher (`build_dispatcher` over `build_context`, started as the bot
  starts) on a fresh SQLite file and on a fresh PostgreSQL database created for the run and dropped after.

Every side gets the same updates: /start, /help, /balance and /books, mixed, from 100 distinct users at
once, fed with `Dispatcher.feed_update`. The Bot's session answers every API call at once in the process
(no HTTP), so the figures are our code's cost, not the network's. Before timing, each user has sent /start
once on every side (sign-ups are not what this measures).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import tempfile
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.base import BaseSession
from aiogram.methods import TelegramMethod
from aiogram.types import Message, Update, User

logger = logging.getLogger(__name__)

COMMANDS = ("/start", "/help", "/balance", "/books")
USERS = 100
FIRST_USER_ID = 900_000_001
TOKEN = "7000000002:bench-updates-token"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def add_arguments(parser: Any) -> None:
    parser.add_argument("--updates", type=int, default=2000, help="timed updates per side (default 2000)")
    parser.add_argument("--rounds", type=int, default=5, help="turns each side takes (default 5)")
    parser.add_argument(
        "--pg-admin",
        default=PG_ADMIN,
        help=f"PostgreSQL to create the run's database in (default {PG_ADMIN})",
    )
    parser.add_argument("--json", action="store_true", help='print {"bare": N, "sqlite": N, "postgres": N}')


class InstantSession(BaseSession):
    """A Bot session that answers every call at once, in the process, with a plausible Telegram reply.

    A call is prepared as a real session prepares it (every field serialised) and its reply goes through
    aiogram's own parsing (`check_response`), so only the network is left out. Sent messages come back as
    Message objects, getMe as the bot, calls that return True as True; anything else is 404, as the
    sandbox does. Keeps the texts it sent."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []
        self._message_ids = itertools.count(1)

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[Any],
        timeout: int | None = None,  # noqa: ASYNC109 - aiogram's signature
    ) -> Any:
        files: dict[str, Any] = {}
        fields = {
            key: self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            for key, value in method.model_dump(warnings=False).items()
        }
        kinds = get_args(method.__returning__) or (method.__returning__,)
        result: Any
        if Message in kinds:
            text = str(fields.get("text") or fields.get("caption") or "")
            self.sent.append(text)
            result = {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": int(fields.get("chat_id") or 0), "type": "private"},
                "from": {"id": bot.id, "is_bot": True, "first_name": "Librarity"},
                "text": text,
            }
            if fields.get("reply_markup"):
                result["reply_markup"] = fields["reply_markup"]
        elif method.__returning__ is User:
            result = {
                "id": bot.id,
                "is_bot": True,
                "first_name": "Librarity",
                "username": "librarity_bench_bot",
            }
        elif bool in kinds:
            result = True
        else:
            reply = {"ok": False, "error_code": 404, "description": "Not Found"}
            return self.check_response(bot, method, 404, self.json_dumps(reply))
        response = self.check_response(bot, method, 200, self.json_dumps({"ok": True, "result": result}))
        return response.result

    async def close(self) -> None:
        return None

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 - aiogram's signature
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        yield b""


def make_update(update_id: int, user_id: int, text: str) -> Update:
    """A private-chat text message from this user, as Telegram would deliver it."""
    language = "ru" if user_id % 3 == 0 else "en"
    sender = {
        "id": user_id,
        "is_bot": False,
        "first_name": f"Reader{user_id % 1000}",
        "language_code": language,
    }
    return Update.model_validate(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": int(time.time()),
                "chat": {"id": user_id, "type": "private", "first_name": sender["first_name"]},
                "from": sender,
                "text": text,
                "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
            },
        }
    )


def bare_dispatcher() -> Dispatcher:
    """aiogram with nothing of ours: one handler that echoes the text back."""
    router = Router(name="echo")

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    dp = Dispatcher()
    dp.include_router(router)
    return dp


@dataclass
class Side:
    name: str
    dispatcher: Dispatcher
    bot: Bot
    session: InstantSession
    seconds: float = 0.0
    updates: int = 0
    failures: int = 0
    apology: str | None = None  # the "something went wrong" text, for counting error replies

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0

    @property
    def error_replies(self) -> int:
        return sum(1 for text in self.session.sent if self.apology and text == self.apology)


async def feed(side: Side, updates: list[Update]) -> float:
    """Feed the updates in waves of one per user at once; returns the seconds it took."""
    started = time.perf_counter()
    for start in range(0, len(updates), USERS):
        wave = updates[start : start + USERS]
        results = await asyncio.gather(
            *(side.dispatcher.feed_update(side.bot, update) for update in wave), return_exceptions=True
        )
        side.failures += sum(1 for result in results if isinstance(result, BaseException))
    return time.perf_counter() - started


def _bot(session: InstantSession) -> Bot:
    from bot.factory import bot_defaults

    return Bot(TOKEN, session=session, default=bot_defaults())


def bare_side() -> Side:
    session = InstantSession()
    return Side("bare", bare_dispatcher(), _bot(session), session)


@contextlib.asynccontextmanager
async def full_side(name: str, settings: Any, data_dir: Path, database_url: str) -> AsyncIterator[Side]:
    """The real bot on this database: context, Dispatcher, started; closed when the block ends."""
    from bot.app import build_context
    from bot.dispatcher import build_dispatcher
    from bot.sandbox.runner import release_routers

    side_settings = settings.model_copy(
        update={
            "data_dir": data_dir,
            "database_url": database_url,
            "redis_url": None,
            "qdrant_url": None,
            "bot_token": None,
            "webhook_url": None,
            "scheduler_enabled": False,
        }
    )
    await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
    ctx = await build_context(side_settings)
    dispatcher = build_dispatcher(ctx)
    try:
        session = InstantSession()
        bot = _bot(session)
        await dispatcher.emit_startup(bot=bot, **dispatcher.workflow_data)
        yield Side(name, dispatcher, bot, session, apology=ctx.i18n.get("en", "error-unexpected"))
    finally:
        await ctx.close()
        release_routers(dispatcher)


@contextlib.asynccontextmanager
async def fresh_postgres(admin_dsn: str) -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for the run (its SQLAlchemy URL); dropped afterwards."""
    import asyncpg

    name = f"librarity_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = admin_dsn.split("://", 1)[1].rsplit("/", 1)[0]
    try:
        yield f"postgresql+asyncpg://{base}/{name}"
    finally:
        admin = await asyncpg.connect(admin_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def workload(count: int, update_ids: Iterator[int]) -> list[Update]:
    """`count` updates, one per user per wave, the commands mixed within each wave and over the waves."""
    return [
        make_update(next(update_ids), FIRST_USER_ID + n % USERS, COMMANDS[(n // USERS + n) % len(COMMANDS)])
        for n in range(count)
    ]


async def measure(sides: list[Side], *, updates: int, rounds: int) -> None:
    """Warm every side up (each user's first /start), then take turns until each has fed `updates`."""
    ids = itertools.count(1)
    for side in sides:
        await feed(side, [make_update(next(ids), FIRST_USER_ID + n, "/start") for n in range(USERS)])
    per_round = max(USERS, -(-updates // rounds))
    done = 0
    turn = 0
    while done < updates:
        size = min(per_round, updates - done)
        batch = workload(size, ids)
        order = sides[turn % len(sides) :] + sides[: turn % len(sides)]
        for side in order:
            side.seconds += await feed(side, batch)
            side.updates += size
        done += size
        turn += 1


async def run_benchmark(settings: Any, *, updates: int, rounds: int, pg_admin: str) -> list[Side]:
    """Bare against SQLite, then bare against PostgreSQL (handler modules keep their routers as singletons,
    so one real Dispatcher exists at a time); each pair takes turns within its own rounds."""
    sides: list[Side] = []
    # The rate limit counts every update as in production, but no user here may go over it.
    per_user = updates // USERS + 2
    if getattr(settings, "rate_updates", 0):
        settings = settings.model_copy(update={"rate_updates": max(settings.rate_updates, per_user)})
    with tempfile.TemporaryDirectory(prefix="librarity-bench-updates-") as tmp:
        root = Path(tmp)
        sqlite_url = f"sqlite+aiosqlite:///{root / 'sqlite' / 'bench.sqlite3'}"
        async with full_side("sqlite", settings, root / "sqlite", sqlite_url) as sqlite:
            bare = bare_side()
            await measure([bare, sqlite], updates=updates, rounds=rounds)
            sides += [bare, sqlite]
        async with (
            fresh_postgres(pg_admin) as pg_url,
            full_side("postgres", settings, root / "pg", pg_url) as pg,
        ):
            bare = bare_side()
            await measure([bare, pg], updates=updates, rounds=rounds)
            sides += [bare, pg]
    return sides


def figures(sides: list[Side]) -> dict[str, float]:
    """Updates a second by side; bare aiogram's over both pairs of rounds."""
    bare = [side for side in sides if side.name == "bare"]
    result = {"bare": sum(side.updates for side in bare) / sum(side.seconds for side in bare)}
    result.update({side.name: side.per_second for side in sides if side.name != "bare"})
    return {name: round(value, 1) for name, value in result.items()}


def report(sides: list[Side]) -> str:
    lines = [
        "| side | updates | seconds | updates/s | of bare aiogram in the same rounds | replies | error replies |"
        " failed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    bare = 0.0
    for side in sides:
        if side.name == "bare":
            bare = side.per_second
        share = f"{side.per_second / bare:.0%}" if bare else "-"
        lines.append(
            f"| {side.name} | {side.updates} | {side.seconds:.2f} | {side.per_second:.0f} | {share} "
            f"| {len(side.session.sent)} | {side.error_replies} | {side.failures} |"
        )
    return "\n".join(lines)


async def run(args: Any, settings: Any) -> int:
    """The `bench updates` entry point (bot/cli/bench.py dispatches here)."""
    # aiogram's line per handled update is terminal output, the same for every side: not what is measured.
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    sides = await run_benchmark(settings, updates=args.updates, rounds=args.rounds, pg_admin=args.pg_admin)
    print(json.dumps(figures(sides)) if args.json else report(sides))
    broken = any(side.failures or side.error_replies for side in sides)
    return 1 if broken else 0
