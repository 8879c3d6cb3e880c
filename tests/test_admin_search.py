"""User search: id, @username, case-insensitive substrings (Cyrillic too) and typos, on both databases."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.admin.search import UserSearch, fuzzy_score, substring_score
from tests.admin_helpers import add_user


async def _seed(factory: async_sessionmaker[AsyncSession]) -> None:
    await add_user(factory, 101, "Ivan", "Ivanov", "ivan_reads")
    await add_user(factory, 102, "Иван", "Петров", "petrov")
    await add_user(factory, 103, "Maria", "Sokolova", None, seen_ago=timedelta(days=3))
    await add_user(factory, 104, "Анна", "ИВАНОВА", "anna_i")
    await add_user(factory, 105, "Percent", "50%_off", "pct")
    await add_user(factory, 10_000_000_123, "Big", "Id", None)


async def _ids(factory: async_sessionmaker[AsyncSession], query: str, **kwargs: int) -> list[int]:
    async with factory() as session:
        return [m.user_id for m in await UserSearch().search(session, query, **kwargs)]


async def test_by_id_and_username(session_factory: async_sessionmaker[AsyncSession]) -> None:
    await _seed(session_factory)
    assert (await _ids(session_factory, "10000000123"))[0] == 10_000_000_123
    assert (await _ids(session_factory, "#102"))[0] == 102
    assert (await _ids(session_factory, "@IVAN_READS"))[0] == 101
    assert (await _ids(session_factory, "petrov"))[0] == 102  # a bare word is tried as a username first
    assert await _ids(session_factory, "999") == []
    assert await _ids(session_factory, "#9999999999999999999") == []  # over BIGINT: no id, no error


async def test_substring_ignores_case_in_any_alphabet(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await _seed(session_factory)
    found = await _ids(session_factory, "ИВАН")
    assert set(found) >= {102, 104}  # "Иван" and "ИВАНОВА"
    assert 101 not in found or found.index(102) < found.index(101)  # Latin "Ivan" is at most a fuzzy match
    assert set(await _ids(session_factory, "ivan")) >= {101}
    assert set(await _ids(session_factory, "иванова")) >= {104}
    # Whole names, first and last together.
    assert (await _ids(session_factory, "maria sokolova"))[0] == 103
    assert (await _ids(session_factory, "Иван Петров"))[0] == 102


async def test_typos_are_forgiven(session_factory: async_sessionmaker[AsyncSession]) -> None:
    await _seed(session_factory)
    assert (await _ids(session_factory, "Ivnaov"))[0] == 101
    assert (await _ids(session_factory, "Sokolva"))[0] == 103
    assert await _ids(session_factory, "zzzzqqq") == []


async def test_like_wildcards_are_literal(session_factory: async_sessionmaker[AsyncSession]) -> None:
    await _seed(session_factory)
    assert (await _ids(session_factory, "50%_"))[0] == 105
    assert await _ids(session_factory, "%") in ([], [105])
    assert await _ids(session_factory, "  ") == []


async def test_limit_and_order(session_factory: async_sessionmaker[AsyncSession]) -> None:
    for n in range(12):
        await add_user(session_factory, 200 + n, f"Reader{n}", "Same")
    found = await _ids(session_factory, "reader", limit=5)
    assert len(found) == 5
    assert found == sorted(found)  # equal scores: by id


def test_scores() -> None:
    row = (1, "ivan_reads", "Ivan", "Ivanov")
    assert substring_score("ivan", row) == 2.0  # the whole first name
    assert 1.0 < (substring_score("read", row) or 0) < 2.0
    assert substring_score("zz", row) is None
    assert fuzzy_score("ivnaov", row) > 0.6
    assert fuzzy_score("xyz", row) < 0.6
