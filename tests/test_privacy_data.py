"""The user's own data: /export's file holds only their rows; /delete_me erases like the admin's delete."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from db.models import AuditEntry, Book, ChatTurn, LedgerEntry, Payment, User
from services.admin.actor import AdminError
from services.admin.service import AdminService
from services.privacy.export import JSON_NAME, collect, export_zip
from tests.admin_helpers import add_book, add_payment, add_user
from tests.test_admin_users import FakeBooks

READER = 31
OTHER = 32


def _turn(user_id: int, book_id: int | None, question: str) -> ChatTurn:
    return ChatTurn(
        user_id=user_id, book_id=book_id, question=question, search_query=question,
        answer=f"answer to {question}", citations=[], provider="x",
    )  # fmt: skip


async def _seed(factory: async_sessionmaker[AsyncSession]) -> int:
    await add_user(factory, READER, "Вера", None, "vera", language="ru")
    await add_user(factory, OTHER, "Olga", None, "olga")
    book = await add_book(factory, READER, title="Капитанская дочка")
    await add_book(factory, OTHER, title="Someone else's")
    await add_payment(factory, READER)
    await add_payment(factory, OTHER, charge_id="charge-2")
    async with factory() as session:
        session.add(_turn(READER, book, "Кто такой Пугачёв?"))
        session.add(_turn(OTHER, None, "secret question"))
        session.add(
            LedgerEntry(user_id=READER, amount=100, reason="grant", balance_after=100, idempotency_key="k1")
        )
        await session.commit()
    return book


async def test_export_holds_the_users_rows_and_nobody_elses(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await _seed(session_factory)
    async with session_factory() as session:
        data = await export_zip(session, READER)
        assert await export_zip(session, 999) is None
    assert data is not None
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == [JSON_NAME]
        exported = json.loads(archive.read(JSON_NAME).decode())
    assert exported["profile"]["id"] == READER and exported["profile"]["first_name"] == "Вера"
    assert [b["title"] for b in exported["books"]] == ["Капитанская дочка"]
    assert exported["books"][0]["status"] == "ready"
    assert [t["question"] for t in exported["conversations"]] == ["Кто такой Пугачёв?"]
    assert [e["amount"] for e in exported["ledger"]] == [100]
    assert [p["amount"] for p in exported["payments"]] == [50]
    assert "secret" not in json.dumps(exported) and "Someone else" not in json.dumps(exported)
    assert exported["settings"] == {}


@pytest.fixture
async def admin(make_settings: Any, session_factory: async_sessionmaker[AsyncSession]) -> AdminService:
    settings: Settings = make_settings(admin_ids=[1])
    return AdminService(settings, session_factory, books=FakeBooks(session_factory))


async def test_delete_me_erases_the_users_data_and_keeps_the_accounts(
    admin: AdminService, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    book = await _seed(session_factory)
    async with session_factory() as session:
        result = await admin.users.delete_own_data(session, READER)
        with pytest.raises(AdminError, match="not_found"):
            await admin.users.delete_own_data(session, 999)
    assert (result.books, result.turns) == (1, 1)
    assert admin.deps.books().deleted == [(READER, book)]  # type: ignore[attr-defined]
    async with session_factory() as session:
        user = await session.get(User, READER)
        assert user is not None and (user.first_name, user.username) == (None, None)
        assert await session.scalar(select(func.count(Book.id)).where(Book.user_id == READER)) == 0
        assert await session.scalar(select(func.count(ChatTurn.id)).where(ChatTurn.user_id == READER)) == 0
        assert await session.scalar(select(func.count(Payment.id)).where(Payment.user_id == READER)) == 1
        assert (
            await session.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.user_id == READER)) == 1
        )
        # The other user is untouched.
        assert await session.scalar(select(func.count(Book.id)).where(Book.user_id == OTHER)) == 1
        assert await session.scalar(select(func.count(ChatTurn.id)).where(ChatTurn.user_id == OTHER)) == 1
        audit = (await session.execute(select(AuditEntry.actor_id, AuditEntry.target_user_id))).all()
        assert [tuple(r) for r in audit] == [(READER, READER)]
        exported = await collect(session, READER)
    assert exported is not None and exported["books"] == [] and exported["conversations"] == []
