"""0006_admin upgrades and downgrades cleanly on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import inspect

from db.engine import create_engine
from db.migrate import downgrade, upgrade
from tests.conftest import PG_ADMIN_DSN

ADMIN_TABLES = {"admin_audit_log", "user_bans"}


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


async def _check_round_trip(url: str) -> None:
    await asyncio.to_thread(upgrade, url, "head")
    assert ADMIN_TABLES <= await _tables(url)
    await asyncio.to_thread(downgrade, url, "0005_notifications")
    tables = await _tables(url)
    assert not ADMIN_TABLES & tables
    assert "users" in tables and "broadcasts" in tables
    await asyncio.to_thread(upgrade, url, "head")
    assert ADMIN_TABLES <= await _tables(url)


async def test_round_trip_sqlite(tmp_path: Path) -> None:
    await _check_round_trip(f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite3'}")


@pytest.mark.postgres
async def test_round_trip_postgres() -> None:
    # A database of its own: the session's shared one must stay at head for other tests.
    name = f"librarity_admin_mig_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    try:
        await _check_round_trip(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}")
    finally:
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
