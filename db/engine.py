"""The database engine and session factory for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def create_engine(
    url: str,
    *,
    pool_size: int | None = None,
    max_overflow: int | None = None,
    pool_timeout: float = 30.0,
    **kwargs: Any,
) -> AsyncEngine:
    """An engine with a bounded pool (DATABASE_POOL_SIZE, DATABASE_MAX_OVERFLOW, DATABASE_POOL_TIMEOUT).

    Defaults: 5 + 10 connections for SQLite (one writer at a time anyway), 30 + 0 for PostgreSQL: kept open
    once opened, since opening and closing the overflow ones under load cost more than their queries. An
    update holds a connection only for its short transactions, never while the LLM writes or Telegram
    answers.

    Errors never carry the statement's values (users' questions, book quotes) into logs or admin alerts:
    SQLAlchemy leaves its parameters out, and `_hide_values` drops the values the drivers quote."""
    sqlite = url.startswith("sqlite")
    pool = {
        "pool_size": pool_size if pool_size is not None else (5 if sqlite else 30),
        "max_overflow": max_overflow if max_overflow is not None else (10 if sqlite else 0),
        "pool_timeout": pool_timeout,
    }
    if sqlite:
        engine = create_async_engine(
            url, connect_args={"timeout": 30}, hide_parameters=True, **pool, **kwargs
        )
        _tune_sqlite(engine)
    else:
        engine = create_async_engine(url, pool_pre_ping=True, hide_parameters=True, **pool, **kwargs)
    event.listen(engine.sync_engine, "handle_error", _hide_values)
    return engine


# asyncpg quotes the value it could not send: "invalid input for query argument $1: 'text…' (reason)".
_ARGUMENT_VALUE = re.compile(r"(invalid input for query argument \$\d+[^:]*): .* \(")


def _hide_values(context: ExceptionContext) -> None:
    """Drop values from a failed statement's errors, the driver's ones chained below included:
    PostgreSQL's DETAIL ("Key (title)=(...) already exists", "Failing row contains (...)") and asyncpg's
    quoted argument. The message itself and the SQL stay."""
    error: BaseException | None = context.original_exception
    chain: list[BaseException] = [context.sqlalchemy_exception] if context.sqlalchemy_exception else []
    while error is not None and error not in chain:
        chain.append(error)
        error = error.__cause__ or error.__context__
    for error in chain:
        if getattr(error, "detail", None):
            error.detail = None  # type: ignore[attr-defined]
        if error.args and isinstance(error.args[0], str):
            error.args = (_ARGUMENT_VALUE.sub(r"\1: (value hidden) (", error.args[0]), *error.args[1:])


def _tune_sqlite(engine: AsyncEngine) -> None:
    # WAL lets readers work while ingestion writes; busy_timeout makes writers wait instead of failing.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


async def connection_problem(url: str) -> str | None:
    """Why the database at `url` cannot be used, in one line (the driver's words); None when it answers."""
    try:
        engine = create_engine(url, pool_size=1, max_overflow=0)
    except Exception as error:  # a URL SQLAlchemy cannot read, a driver that is not installed
        return _one_line(error)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as error:
        return _one_line(error)
    finally:
        await engine.dispose()
    return None


def _one_line(error: BaseException) -> str:
    driver_error = getattr(error, "orig", None) or error  # SQLAlchemy's wrapper adds SQL and a link
    lines = str(driver_error).strip().splitlines()
    return lines[0] if lines else type(driver_error).__name__


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"
