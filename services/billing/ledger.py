"""The credit ledger: every change of a balance, atomic and idempotent, on SQLite and PostgreSQL.

A charge is one conditional `UPDATE credit_accounts SET balance = balance - :n WHERE balance >= :n`, never a
read followed by a write, so concurrent charges can never take a balance below zero. The ledger row is
written in the same transaction with a unique idempotency key: a repeated key changes nothing and returns
the first result. Nothing here commits; the caller's transaction holds the change and its record together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.models.billing import CreditAccount, LedgerEntry
from services.billing.sql import insert_ignoring_conflicts


class AccountMissing(LookupError):
    """Credits were granted to a user without a credit account (BillingService.ensure_account makes one)."""


@dataclass(frozen=True, slots=True)
class LedgerResult:
    """What a ledger operation did.

    `ok` False means nothing changed (not enough credits). `amount` is the signed change (negative for a
    charge); `balance` the balance after it (or the current balance when refused). `replayed` marks a
    result read back from an earlier operation with the same idempotency key.
    """

    ok: bool
    amount: int
    balance: int
    entry_id: int | None = None
    replayed: bool = False


class CreditLedger:
    """Charges, grants and take-backs of credits; see the module docstring for the guarantees."""

    async def charge(
        self,
        session: AsyncSession,
        user_id: int,
        amount: int,
        reason: str,
        ref: str | None,
        idempotency_key: str,
        *,
        count_as_usage: bool = False,
        now: datetime | None = None,
    ) -> LedgerResult:
        """Take `amount` credits if the balance covers them; otherwise change nothing (ok=False).

        `count_as_usage` also adds the amount to this period's use (answers, books, summaries count;
        take-backs of refunded purchases do not).
        """
        if amount <= 0:
            raise ValueError("a charge takes a positive amount")
        first = await self.find(session, idempotency_key)
        if first is not None:
            return first
        now = now or utcnow()
        values: dict[str, Any] = {"balance": CreditAccount.balance - amount, "updated_at": now}
        if count_as_usage:
            values["period_used"] = CreditAccount.period_used + amount
        balance = await self._update(session, user_id, values, CreditAccount.balance >= amount)
        if balance is None:
            return LedgerResult(ok=False, amount=0, balance=await self.balance(session, user_id))
        return await self._record_or_undo(
            session, user_id, -amount, reason, ref, balance, idempotency_key, now, values
        )

    async def grant(
        self,
        session: AsyncSession,
        user_id: int,
        amount: int,
        reason: str,
        ref: str | None,
        idempotency_key: str,
        *,
        add_to_period: bool = False,
        now: datetime | None = None,
    ) -> LedgerResult:
        """Add `amount` credits. `add_to_period` counts them into this period's credits (purchases,
        bonuses), so the 80% warning measures use against everything the user had this period."""
        if amount <= 0:
            raise ValueError("a grant takes a positive amount")
        first = await self.find(session, idempotency_key)
        if first is not None:
            return first
        now = now or utcnow()
        values: dict[str, Any] = {"balance": CreditAccount.balance + amount, "updated_at": now}
        if add_to_period:
            values["period_credits"] = CreditAccount.period_credits + amount
        balance = await self._update(session, user_id, values)
        if balance is None:
            raise AccountMissing(user_id)
        return await self._record_or_undo(
            session, user_id, amount, reason, ref, balance, idempotency_key, now, values
        )

    async def take(
        self,
        session: AsyncSession,
        user_id: int,
        amount: int,
        reason: str,
        ref: str | None,
        idempotency_key: str,
        *,
        count_as_usage: bool = False,
        now: datetime | None = None,
    ) -> LedgerResult:
        """Take up to `amount` credits: all of them if the balance covers them, else what is there.

        The balance never goes below zero; what was actually taken is recorded (possibly 0, so that a
        repeat of the same key still finds the first result).
        """
        if amount <= 0:
            raise ValueError("a take-back takes a positive amount")
        return await self._take_part(
            session, user_id, 0, amount, reason, ref, idempotency_key, count_as_usage, now
        )

    async def hold(
        self,
        session: AsyncSession,
        user_id: int,
        at_least: int,
        at_most: int,
        reason: str,
        ref: str | None,
        idempotency_key: str,
        *,
        now: datetime | None = None,
    ) -> LedgerResult:
        """Take `at_most` credits, or all there is when that is less, but refuse (ok=False, nothing
        changed) when the balance is under `at_least`: what an answer holds before the LLM is called.
        Counts as this period's use."""
        if at_least <= 0 or at_most < at_least:
            raise ValueError("a hold takes 0 < at_least <= at_most")
        return await self._take_part(
            session, user_id, at_least, at_most, reason, ref, idempotency_key, True, now
        )

    async def balance(self, session: AsyncSession, user_id: int) -> int:
        value = await session.scalar(select(CreditAccount.balance).where(CreditAccount.user_id == user_id))
        return int(value or 0)

    async def entries(self, session: AsyncSession, user_id: int, limit: int = 10) -> list[LedgerEntry]:
        """The user's latest ledger rows, newest first."""
        rows = await session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.user_id == user_id)
            .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc())
            .limit(limit)
        )
        return list(rows.all())

    async def total(self, session: AsyncSession, user_id: int) -> int:
        """The sum of the user's ledger rows: always equal to the balance."""
        value = await session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(LedgerEntry.user_id == user_id)
        )
        return int(value or 0)

    # --- internals ------------------------------------------------------------------------------

    async def _take_part(
        self,
        session: AsyncSession,
        user_id: int,
        at_least: int,
        at_most: int,
        reason: str,
        ref: str | None,
        key: str,
        count_as_usage: bool,
        now: datetime | None,
    ) -> LedgerResult:
        """Take min(balance, at_most) credits when the balance is at least `at_least`.

        A conditional update per attempt: if the balance moved between the read and the write, the write
        does nothing and the next attempt reads the new balance."""
        first = await self.find(session, key)
        if first is not None:
            return first
        now = now or utcnow()
        for _ in range(20):
            current = await self.balance(session, user_id)
            if current < at_least:
                return LedgerResult(ok=False, amount=0, balance=current)
            part = min(current, at_most)
            if part == 0:
                entry_id = await self._insert_entry(session, user_id, 0, reason, ref, current, key, now)
                if entry_id is None:
                    replay = await self.find(session, key)
                    assert replay is not None
                    return replay
                return LedgerResult(ok=True, amount=0, balance=current, entry_id=entry_id)
            values: dict[str, Any] = {"balance": CreditAccount.balance - part, "updated_at": now}
            if count_as_usage:
                values["period_used"] = CreditAccount.period_used + part
            balance = await self._update(session, user_id, values, CreditAccount.balance >= part)
            if balance is not None:
                return await self._record_or_undo(
                    session, user_id, -part, reason, ref, balance, key, now, values
                )
        raise RuntimeError(f"could not take credits from user {user_id}: the balance keeps changing")

    async def find(self, session: AsyncSession, key: str) -> LedgerResult | None:
        """The result recorded under `key`, or None when the key was never used."""
        entry = await session.scalar(select(LedgerEntry).where(LedgerEntry.idempotency_key == key))
        if entry is None:
            return None
        return LedgerResult(
            ok=True, amount=entry.amount, balance=entry.balance_after, entry_id=entry.id, replayed=True
        )

    async def _update(
        self,
        session: AsyncSession,
        user_id: int,
        values: dict[str, Any],
        condition: ColumnElement[bool] | None = None,
    ) -> int | None:
        """Apply `values` to the user's account when `condition` holds; the new balance, or None."""
        statement = update(CreditAccount).where(CreditAccount.user_id == user_id)
        if condition is not None:
            statement = statement.where(condition)
        statement = statement.values(**values).returning(CreditAccount.balance)
        row = (await session.execute(statement, execution_options={"synchronize_session": False})).first()
        if row is None:
            return None
        self.forget_cached(session, user_id)
        return int(row[0])

    async def _record_or_undo(
        self,
        session: AsyncSession,
        user_id: int,
        amount: int,
        reason: str,
        ref: str | None,
        balance: int,
        key: str,
        now: datetime,
        values: dict[str, Any],
    ) -> LedgerResult:
        entry_id = await self._insert_entry(session, user_id, amount, reason, ref, balance, key, now)
        if entry_id is not None:
            return LedgerResult(ok=True, amount=amount, balance=balance, entry_id=entry_id)
        # A concurrent request with the same key recorded first: undo our change in this transaction and
        # report theirs, so the key changes the balance exactly once.
        undo: dict[str, Any] = {"balance": CreditAccount.balance - amount, "updated_at": now}
        if "period_used" in values:
            undo["period_used"] = CreditAccount.period_used + amount  # amount is negative for charges
        if "period_credits" in values:
            undo["period_credits"] = CreditAccount.period_credits - amount
        await self._update(session, user_id, undo)
        replay = await self.find(session, key)
        assert replay is not None
        return replay

    async def _insert_entry(
        self,
        session: AsyncSession,
        user_id: int,
        amount: int,
        reason: str,
        ref: str | None,
        balance: int,
        key: str,
        now: datetime,
    ) -> int | None:
        statement = insert_ignoring_conflicts(
            session,
            LedgerEntry,
            {
                "user_id": user_id,
                "amount": amount,
                "reason": reason,
                "reference": ref[:128] if ref else None,
                "balance_after": balance,
                "idempotency_key": key,
                "created_at": now,
            },
            conflict_columns=["idempotency_key"],
        ).returning(LedgerEntry.id)
        row = (await session.execute(statement)).first()
        return int(row[0]) if row is not None else None

    @staticmethod
    def forget_cached(session: AsyncSession, user_id: int) -> None:
        """Make a CreditAccount loaded in this session re-read (an UPDATE bypassed the ORM)."""
        cached = session.sync_session.identity_map.get(
            session.sync_session.identity_key(CreditAccount, user_id)
        )
        if cached is not None:
            session.expire(cached)
