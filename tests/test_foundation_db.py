"""The schema on both databases: every migration upgrades and downgrades, users upsert safely."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.migrate import downgrade, revisions, upgrade
from db.models import User
from db.repositories import users


def _stairway(url: str) -> None:
    revs = revisions(url)
    assert revs[0] == "0001_foundation"
    for index, rev in enumerate(revs):
        upgrade(url, rev)
        downgrade(url, revs[index - 1] if index else "base")
        upgrade(url, rev)
    downgrade(url, "base")


async def test_stairway_sqlite(tmp_path: Path) -> None:
    await asyncio.to_thread(_stairway, f"sqlite+aiosqlite:///{tmp_path / 'stairs.sqlite3'}")


async def test_stairway_postgres(empty_pg_url: str) -> None:
    await asyncio.to_thread(_stairway, empty_pg_url)


async def test_user_upsert_creates_then_refreshes(session: AsyncSession) -> None:
    user, created = await users.upsert_seen(
        session, user_id=42, username="ann", first_name="Ann", last_name=None, language="en"
    )
    await session.commit()
    assert created and user.language == "en"
    await users.set_language(session, user, "ru")
    await session.commit()
    again, created_again = await users.upsert_seen(
        session, user_id=42, username="ann2", first_name="Ann", last_name="B", language="en"
    )
    await session.commit()
    assert not created_again
    assert again.username == "ann2" and again.full_name == "Ann B"
    assert again.language == "ru", "a language picked by hand survives Telegram's language_code"


async def test_concurrent_first_updates_make_one_user(
    session_factory: async_sessionmaker[AsyncSession], db_kind: str
) -> None:
    async def first_contact() -> bool:
        async with session_factory() as session:
            _, created = await users.upsert_seen(
                session, user_id=7, username=None, first_name="Bo", last_name=None, language="ru"
            )
            await session.commit()
            return created

    results = await asyncio.gather(*(first_contact() for _ in range(8)), return_exceptions=True)
    assert not [r for r in results if isinstance(r, BaseException)], results
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 1
    assert sum(1 for r in results if r is True) >= 1


@pytest.mark.parametrize("code,expected", [("ru-RU", "ru"), ("uk", "ru"), ("de", "en"), (None, "en")])
def test_locale_from_telegram(code: str | None, expected: str) -> None:
    from bot.i18n import pick_locale

    assert pick_locale(code) == expected
