"""SQL that must read the same on SQLite and PostgreSQL: INSERT ... ON CONFLICT DO NOTHING with its twin."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_name(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def insert_ignoring_conflicts(
    session: AsyncSession, model: Any, values: dict[str, Any], *, conflict_columns: Sequence[str]
) -> Any:
    """`INSERT ... ON CONFLICT (columns) DO NOTHING` for the session's database.

    Both SQLite (3.24+) and PostgreSQL speak it; SQLAlchemy spells it per dialect. Add `.returning(...)`
    to learn whether the row went in (no row back means the conflict won).
    """
    name = dialect_name(session)
    if name == "postgresql":
        return (
            postgresql.insert(model)
            .values(**values)
            .on_conflict_do_nothing(index_elements=list(conflict_columns))
        )
    if name == "sqlite":
        return (
            sqlite.insert(model)
            .values(**values)
            .on_conflict_do_nothing(index_elements=list(conflict_columns))
        )
    raise NotImplementedError(f"no ON CONFLICT twin for the {name} dialect")
