"""Shared fixtures: settings on a temp data dir, databases (SQLite and a fresh PostgreSQL), Redis."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from bot.settings import Settings, load_settings
from db.base import Base
from db.engine import create_engine, create_session_factory
from db.migrate import upgrade_async

PG_ADMIN_DSN = os.environ.get("TEST_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests build their own settings; a developer's .env or keys must not leak in.
    for name in list(os.environ):
        if name.startswith(
            ("BOT_TOKEN", "GEMINI_", "OPENAI_", "YOOKASSA_", "DATABASE_URL", "REDIS_URL", "QDRANT_")
        ):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def make_settings(data_dir: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(data_dir.parent)  # no stray .env from the working directory

    def make(**overrides: object) -> Settings:
        overrides.setdefault("data_dir", data_dir)
        return load_settings(_env_file=None, **overrides)

    return make


@pytest.fixture
def settings(make_settings) -> Settings:  # type: ignore[no-untyped-def]
    return make_settings()


async def _new_pg_database() -> str:
    name = f"librarity_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = await asyncpg.connect(PG_ADMIN_DSN)
    except (OSError, asyncpg.PostgresError) as error:
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_DSN}: {error}")
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    return name


async def _drop_pg_database(name: str) -> None:
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture(scope="session")
async def pg_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for this test session (so parallel runs never collide)."""
    name = await _new_pg_database()
    yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    await _drop_pg_database(name)


@pytest.fixture
async def empty_pg_url() -> AsyncIterator[str]:
    """A PostgreSQL database of this test's own, for tests that change the schema itself."""
    name = await _new_pg_database()
    yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    await _drop_pg_database(name)


@pytest.fixture(scope="session")
async def pg_migrated(pg_url: str) -> str:
    await upgrade_async(pg_url)
    return pg_url


@pytest.fixture(params=["sqlite", "postgres"])
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(db_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A new SQLite file, or the session's PostgreSQL database (migrated once, emptied after each test)."""
    if db_kind == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"
    url: str = request.getfixturevalue("pg_migrated")
    return url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a database migrated to head."""
    if db_url.startswith("sqlite"):
        await upgrade_async(db_url)
    engine = create_engine(db_url)
    yield engine
    if engine.dialect.name == "postgresql":
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture
async def session(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with session_factory() as session:
        yield session


@pytest.fixture
def redis_url() -> Iterator[str]:
    yield REDIS_URL


@pytest.fixture
def redis_prefix() -> str:
    return f"test:{uuid.uuid4().hex[:8]}:"


def shared_data(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not found: {path}")
    return path
