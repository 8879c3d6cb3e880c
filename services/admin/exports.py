"""CSV exports of users and payments for spreadsheets.

UTF-8 with a byte order mark (Excel then reads Cyrillic correctly), streamed from the database in chunks
(`yield_per`) into a file, so a large table never sits in memory. Text that a spreadsheet would take for a
formula (=, +, -, @ first) is prefixed with an apostrophe.
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Book, CreditAccount, Payment, PaymentOrder, User

CHUNK = 1000
USER_COLUMNS = (
    "id", "username", "first_name", "last_name", "language", "role", "plan", "balance", "plan_expires_at",
    "books", "created_at", "last_seen_at", "banned", "blocked_bot",
)  # fmt: skip
PAYMENT_COLUMNS = (
    "id", "created_at", "user_id", "provider", "charge_id", "product", "currency", "amount", "credits", "plan",
    "status", "refunded_at", "credits_taken_back", "is_recurring",
)  # fmt: skip
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def users_query() -> Select[Any]:
    books = select(func.count(Book.id)).where(Book.user_id == User.id).scalar_subquery()
    columns: list[Any] = [
        User.id, User.username, User.first_name, User.last_name, User.language, User.role,
        func.coalesce(CreditAccount.plan, "free"), func.coalesce(CreditAccount.balance, 0),
        CreditAccount.plan_expires_at, books, User.created_at, User.last_seen_at, User.banned, User.blocked_bot,
    ]  # fmt: skip
    return select(*columns).outerjoin(CreditAccount, CreditAccount.user_id == User.id).order_by(User.id)


def payments_query() -> Select[Any]:
    columns: list[Any] = [
        Payment.id, Payment.created_at, Payment.user_id, Payment.provider, Payment.charge_id, PaymentOrder.product,
        Payment.currency, Payment.amount, Payment.credits, Payment.plan, Payment.status, Payment.refunded_at,
        Payment.credits_taken_back, Payment.is_recurring,
    ]  # fmt: skip
    return select(*columns).outerjoin(PaymentOrder, PaymentOrder.id == Payment.order_id).order_by(Payment.id)


async def write_csv(
    session: AsyncSession, query: Select[Any], header: Sequence[str], path: Path, *, chunk: int = CHUNK
) -> int:
    """Stream `query` into a CSV file at `path`; returns the number of rows written."""
    rows_written = 0
    handle = await asyncio.to_thread(path.open, "w", encoding="utf-8-sig", newline="")
    try:
        writer = csv.writer(handle)
        writer.writerow(header)
        result = await session.stream(query.execution_options(yield_per=chunk))
        async for partition in result.partitions(chunk):
            rows = [[cell(v) for v in row] for row in partition]
            await asyncio.to_thread(writer.writerows, rows)
            rows_written += len(rows)
    finally:
        await asyncio.to_thread(handle.close)
    return rows_written


async def export_users(session: AsyncSession, path: Path, *, chunk: int = CHUNK) -> int:
    return await write_csv(session, users_query(), USER_COLUMNS, path, chunk=chunk)


async def export_payments(session: AsyncSession, path: Path, *, chunk: int = CHUNK) -> int:
    return await write_csv(session, payments_query(), PAYMENT_COLUMNS, path, chunk=chunk)
