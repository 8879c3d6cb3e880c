"""A failing statement's error, as a log would print it (the whole chain of causes), carries no values: no
user's question or book quote reaches the log or an admin alert. On SQLite and PostgreSQL."""

from __future__ import annotations

import traceback

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

QUESTION = "Where did Ivan hide the golden feather?"
QUOTE = "she escaped and left a golden feather in his hand"


async def _logged_error(connection: AsyncConnection, statement: str, **values: object) -> str:
    """The failing statement's error with its causes, as `logger.exception` writes it."""
    with pytest.raises(DBAPIError) as caught:
        async with connection.begin_nested():
            await connection.execute(text(statement), values)
    return "".join(traceback.format_exception(caught.value))


async def test_failed_statements_keep_values_out_of_their_errors(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(
            text("CREATE TEMPORARY TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL UNIQUE, note TEXT)")
        )
        await connection.execute(text("INSERT INTO notes (id, body) VALUES (1, :body)"), {"body": QUOTE})
        logged = [
            # PostgreSQL's DETAIL would say: Key (body)=(she escaped...) already exists.
            await _logged_error(connection, "INSERT INTO notes (id, body) VALUES (2, :body)", body=QUOTE),
            # ... and: Failing row contains (3, null, Where did Ivan...).
            await _logged_error(
                connection, "INSERT INTO notes (id, body, note) VALUES (3, NULL, :note)", note=QUESTION
            ),
            # asyncpg would quote the argument it could not send as an integer.
            await _logged_error(connection, "INSERT INTO notes (id, body) VALUES (:id, 'x')", id=QUESTION),
        ]
        await connection.rollback()
    for error in logged:
        assert "notes" in error  # the statement is still there to debug with
        assert "golden" not in error and "Ivan" not in error, error
