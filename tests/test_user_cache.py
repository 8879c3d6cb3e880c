"""The user cache behind the user middleware (both databases): repeated updates read the database once,
handlers still change and commit their own row, and every change made in this process applies at once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.types import Chat, Message, Update
from aiogram.types import User as TgUser
from sqlalchemy import event, inspect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.middlewares import DbSessionMiddleware, UserMiddleware
from bot.settings import Settings
from db.models import User
from db.repositories import books, users
from db.user_cache import UserCache
from services.admin.bans import BanRegistry
from tests.admin_helpers import add_book

OWNER = 1


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Harness:
    """The database and user middlewares with a handler that keeps what it was given."""

    def __init__(
        self, factory: async_sessionmaker[AsyncSession], cache: UserCache, settings: Settings
    ) -> None:
        self.cache = cache
        self.seen: list[tuple[User, bool]] = []  # (its user, whether a clean row of its own session)
        self.change: dict[int, Any] = {}  # user id -> what the handler does to its user
        router = Router()

        @router.message()
        async def handle(message: Message, user: User, session: AsyncSession) -> None:
            state = inspect(user)
            own = state.persistent and state.session is session.sync_session and not state.modified
            self.seen.append((user, own))
            change = self.change.get(user.id)
            if change is not None:
                await change(user, session)

        self.dp = Dispatcher()
        self.dp.update.outer_middleware(DbSessionMiddleware(factory))
        self.dp.update.outer_middleware(UserMiddleware(settings, cache))
        self.dp.include_router(router)
        self.bot = Bot("42:TEST")
        self._ids = iter(range(1, 10**6))

    async def send(self, user_id: int, first_name: str = "Ann") -> User:
        update_id = next(self._ids)
        update = Update(
            update_id=update_id,
            message=Message(
                message_id=update_id,
                date=datetime.now(UTC),
                chat=Chat(id=user_id, type="private"),
                from_user=TgUser(id=user_id, is_bot=False, first_name=first_name, language_code="en"),
                text="hello",
            ),
        )
        await self.dp.feed_update(self.bot, update)
        return self.seen[-1][0]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def harness(
    session_factory: async_sessionmaker[AsyncSession], engine: AsyncEngine, make_settings: Any, clock: Clock
) -> Harness:
    settings = make_settings(admin_ids=[OWNER])
    return Harness(session_factory, UserCache(engine.url, 10, clock=clock), settings)


@pytest.fixture
def user_reads(engine: AsyncEngine) -> Iterator[list[str]]:
    """SELECTs on the users table, as they are sent."""
    reads: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM users" in statement:
            reads.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    yield reads
    event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_repeated_updates_read_the_user_once(harness: Harness, user_reads: list[str]) -> None:
    await harness.send(7)  # signs up: its own write is not kept
    first = await harness.send(7)  # read, and kept
    reads = len(user_reads)
    for _ in range(5):
        user = await harness.send(7)
        assert user.id == 7 and user.first_name == "Ann"
    assert len(user_reads) == reads, "served from the cache"
    # Each update has a row of its own, attached to its own session as if just loaded.
    rows = [row for row, _ in harness.seen]
    assert len({id(row) for row in rows}) == len(rows)
    assert all(own for _, own in harness.seen)
    assert first.settings is not rows[-1].settings
    # A new name is written (without reading the row again) and the next update reads it afresh.
    renamed = await harness.send(7, first_name="Anna")
    assert renamed.first_name == "Anna" and len(user_reads) == reads
    assert (await harness.send(7, first_name="Anna")).first_name == "Anna"


async def test_a_handler_changes_and_commits_its_cached_row(
    harness: Harness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await harness.send(7)
    await harness.send(7)

    async def choose_mode(user: User, session: AsyncSession) -> None:
        user.settings = {**user.settings, "chat_mode": "quotes"}
        await session.commit()

    harness.change[7] = choose_mode
    await harness.send(7)
    del harness.change[7]
    assert (await harness.send(7)).settings == {"chat_mode": "quotes"}
    async with session_factory() as session:
        stored = await session.get(User, 7)
        assert stored is not None and stored.settings == {"chat_mode": "quotes"}


async def test_changes_made_elsewhere_in_the_process_apply_at_once(
    harness: Harness, session_factory: async_sessionmaker[AsyncSession], user_reads: list[str]
) -> None:
    await harness.send(7)
    await harness.send(7)
    async with session_factory() as session:  # an admin's update bans them
        user = await session.get(User, 7)
        assert user is not None
        await BanRegistry().ban(session, user, by=OWNER)
        await session.commit()
    assert (await harness.send(7)).banned
    async with session_factory() as session:  # /language
        user = await session.get(User, 7)
        assert user is not None
        await users.set_language(session, user, "ru")
        await session.commit()
    assert (await harness.send(7)).language == "ru"
    book_id = await add_book(session_factory, 7)
    async with session_factory() as session:  # an UPDATE statement on the table, not through a row
        await books.set_active(session, 7, book_id)
        await session.commit()
    assert (await harness.send(7)).active_book_id == book_id
    # Made an admin: read from the database every time from then on.
    async with session_factory() as session:
        user = await session.get(User, 7)
        assert user is not None
        user.role = "admin"
        await session.commit()
    await harness.send(7)
    reads = len(user_reads)
    await harness.send(7)
    await harness.send(7)
    assert len(user_reads) == reads + 2


async def test_owners_are_always_read(harness: Harness, user_reads: list[str]) -> None:
    await harness.send(OWNER)
    reads = len(user_reads)
    await harness.send(OWNER)
    assert len(user_reads) > reads


async def test_a_read_that_raced_a_write_is_not_kept(
    harness: Harness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await harness.send(7)
    cache = harness.cache
    async with session_factory() as reader, session_factory() as writer:
        token = cache.token(7)
        stale = await reader.get(User, 7, populate_existing=True)
        assert stale is not None
        fresh = await writer.get(User, 7)
        assert fresh is not None
        fresh.first_name = "Bo"
        await writer.commit()
        cache.put(stale, token)
        assert cache.attach(reader.sync_session, 7) is None


async def test_entries_expire(harness: Harness, clock: Clock, user_reads: list[str]) -> None:
    await harness.send(7)
    await harness.send(7)
    reads = len(user_reads)
    clock.now += 11
    await harness.send(7)
    assert len(user_reads) == reads + 1


async def test_many_updates_at_once_while_users_are_banned(
    harness: Harness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    people = range(100, 110)
    await asyncio.gather(*(harness.send(uid) for uid in people))

    async def ban(user_id: int) -> None:
        async with session_factory() as session:
            user = await session.get(User, user_id)
            assert user is not None
            await BanRegistry().ban(session, user, by=OWNER)
            await session.commit()

    sends = [harness.send(uid) for uid in people for _ in range(5)]
    await asyncio.gather(*sends, *(ban(uid) for uid in people[:5]))
    assert all(own for _, own in harness.seen)
    after = await asyncio.gather(*(harness.send(uid) for uid in people))
    assert [user.banned for user in after] == [uid in people[:5] for uid in people]
    async with session_factory() as session:
        for uid in people:
            stored = await session.get(User, uid)
            assert stored is not None and stored.banned == (uid in people[:5])
