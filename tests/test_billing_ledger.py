"""The credit ledger on SQLite and PostgreSQL: atomic charges, idempotent keys, balance == ledger sum."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import utcnow
from db.models.billing import CreditAccount
from services.billing.ledger import CreditLedger

USER = 1001


async def _account(session_factory: async_sessionmaker[AsyncSession], balance: int) -> CreditLedger:
    ledger = CreditLedger()
    async with session_factory() as session:
        now = utcnow()
        session.add(CreditAccount(user_id=USER, balance=0, period_start=now, period_end=now))
        await session.flush()
        await ledger.grant(session, USER, balance, "test", None, "seed")
        await session.commit()
    return ledger


async def test_fifty_concurrent_charges_never_overdraw(
    session_factory: async_sessionmaker[AsyncSession], db_kind: str
) -> None:
    ledger = await _account(session_factory, 100)

    async def charge(n: int) -> bool:
        async with session_factory() as session:
            result = await ledger.charge(
                session, USER, 7, "answer", f"q{n}", f"charge:{n}", count_as_usage=True
            )
            await session.commit()
            return result.ok

    results = await asyncio.gather(*(charge(n) for n in range(50)))
    async with session_factory() as session:
        balance = await ledger.balance(session, USER)
        total = await ledger.total(session, USER)
        account = await session.get(CreditAccount, USER)
        assert account is not None
        assert balance >= 0
        assert sum(results) == 100 // 7, f"{db_kind}: exactly as many charges as the balance covers"
        assert balance == 100 - 7 * sum(results) == total
        assert account.period_used == 7 * sum(results)


async def test_the_same_key_charges_once_even_concurrently(
    session_factory: async_sessionmaker[AsyncSession], db_kind: str
) -> None:
    ledger = await _account(session_factory, 50)

    async def charge() -> tuple[bool, int, bool]:
        async with session_factory() as session:
            result = await ledger.charge(session, USER, 10, "answer", "q", "charge:same")
            await session.commit()
            return result.ok, result.balance, result.replayed

    results = await asyncio.gather(*(charge() for _ in range(10)))
    async with session_factory() as session:
        assert await ledger.balance(session, USER) == 40 == await ledger.total(session, USER)
    assert all(ok and balance == 40 for ok, balance, _ in results), results
    assert sum(1 for *_, replayed in results if not replayed) == 1


async def test_refused_charge_changes_nothing_and_take_clamps_at_zero(session: AsyncSession) -> None:
    now = utcnow()
    session.add(CreditAccount(user_id=USER, balance=0, period_start=now, period_end=now))
    await session.flush()
    ledger = CreditLedger()
    await ledger.grant(session, USER, 5, "test", None, "seed")
    refused = await ledger.charge(session, USER, 6, "answer", None, "too-much")
    assert not refused.ok and refused.balance == 5
    taken = await ledger.take(session, USER, 8, "refund", "c1", "refund:c1")
    assert taken.ok and taken.amount == -5 and taken.balance == 0
    again = await ledger.take(session, USER, 8, "refund", "c1", "refund:c1")
    assert again.replayed and again.amount == -5
    nothing = await ledger.take(session, USER, 3, "refund", "c2", "refund:c2")
    assert nothing.amount == 0 and nothing.balance == 0
    await session.commit()
    assert await ledger.total(session, USER) == 0
    # The refused key was never recorded, so it may succeed later.
    await ledger.grant(session, USER, 10, "test", None, "seed-2")
    assert (await ledger.charge(session, USER, 6, "answer", None, "too-much")).ok
