"""Seeding for the admin tests: users, accounts, books and payments written straight to the database."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import utcnow
from db.models import Book, Payment, PaymentOrder, User


async def add_user(
    factory: async_sessionmaker[AsyncSession],
    user_id: int,
    first_name: str | None = None,
    last_name: str | None = None,
    username: str | None = None,
    *,
    role: str = "user",
    seen_ago: timedelta = timedelta(0),
    **fields: Any,
) -> None:
    now = utcnow()
    async with factory() as session:
        session.add(
            User(
                id=user_id,
                first_name=first_name,
                last_name=last_name,
                username=username,
                language=fields.pop("language", "en"),
                role=role,
                created_at=now - seen_ago,
                last_seen_at=now - seen_ago,
                settings={},
                **fields,
            )
        )
        await session.commit()


async def add_book(
    factory: async_sessionmaker[AsyncSession],
    user_id: int,
    *,
    status: str = "ready",
    title: str = "A book",
    **fields: Any,
) -> int:
    async with factory() as session:
        book = Book(
            user_id=user_id,
            file_sha256=fields.pop("file_sha256", f"{user_id:x}{title.encode().hex()}"[:64].ljust(64, "0")),
            file_name=f"{title}.txt",
            file_size=10,
            title=title,
            status=status,
            pages=fields.pop("pages", 10),
            chunks=0,
            attempts=fields.pop("attempts", 1),
            **fields,
        )
        session.add(book)
        await session.commit()
        return book.id


async def add_payment(
    factory: async_sessionmaker[AsyncSession],
    user_id: int,
    *,
    amount: int = 50,
    currency: str = "XTR",
    credits: int = 100,
    charge_id: str = "charge-1",
    created_at: datetime | None = None,
) -> int:
    now = created_at or utcnow()
    async with factory() as session:
        order = PaymentOrder(
            user_id=user_id, product="pack_100", provider="stars" if currency == "XTR" else "yookassa",
            currency=currency, amount=amount, credits=credits, status="paid", payload=f"p-{charge_id}",
            created_at=now, updated_at=now, paid_at=now,
        )  # fmt: skip
        session.add(order)
        await session.flush()
        payment = Payment(
            order_id=order.id, user_id=user_id, provider=order.provider, charge_id=charge_id, currency=currency,
            amount=amount, credits=credits, status="paid", created_at=now,
        )  # fmt: skip
        session.add(payment)
        await session.commit()
        return payment.id
