"""Admin actions on users, on both databases: credits through the ledger (once per key), plans, roles,
bans, deleting a user's data — each checked against the actor's powers and written to the audit log."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from db.models import AuditEntry, Book, ChatTurn, CreditAccount, Event, LedgerEntry, Payment, User, UserBan
from services.admin.actor import Actor, AdminError
from services.admin.roles import Role
from services.admin.service import AdminService
from services.admin.users import MAX_CREDITS_CHANGE, parse_credit_amount
from tests.admin_helpers import add_book, add_payment, add_user

OWNER = 1
ADMIN = 2
USER = 3
OTHER_ADMIN = 4


class FakeBooks:
    """Stands in for ingestion: records the calls and deletes the rows."""

    def __init__(self, factory: async_sessionmaker[AsyncSession]) -> None:
        self.factory = factory
        self.deleted: list[tuple[int, int]] = []
        self.retried: list[tuple[int, int]] = []

    async def delete(self, user_id: int, book_id: int) -> bool:
        from db.repositories import books as repo

        async with self.factory() as session:
            await repo.delete_book(session, book_id)
            await session.commit()
        self.deleted.append((user_id, book_id))
        return True

    async def retry(self, user_id: int, book_id: int) -> Any:
        self.retried.append((user_id, book_id))
        return object()


@pytest.fixture
async def admin(make_settings: Any, session_factory: async_sessionmaker[AsyncSession]) -> AdminService:
    settings: Settings = make_settings(admin_ids=[OWNER], billing_free_monthly_credits=100)
    await add_user(session_factory, OWNER, "Olga", None, "owner", role="owner")
    await add_user(session_factory, ADMIN, "Adam", None, "adam", role="admin")
    await add_user(session_factory, OTHER_ADMIN, "Alex", None, "alex", role="admin")
    await add_user(session_factory, USER, "Ivan", "Ivanov", "ivan")
    return AdminService(settings, session_factory, books=FakeBooks(session_factory))


OWNER_ACTOR = Actor(OWNER, Role.OWNER)
ADMIN_ACTOR = Actor(ADMIN, Role.ADMIN)


async def _audit(factory: async_sessionmaker[AsyncSession]) -> list[tuple[int, str, int | None]]:
    async with factory() as session:
        rows = await session.execute(
            select(AuditEntry.actor_id, AuditEntry.action, AuditEntry.target_user_id).order_by(AuditEntry.id)
        )
        return [tuple(r) for r in rows.all()]  # type: ignore[misc]


def test_a_typed_credit_amount_is_a_whole_number_within_the_limit() -> None:
    assert parse_credit_amount(" 150 ") == 150 and parse_credit_amount("1 000 000") == MAX_CREDITS_CHANGE
    for typed in ("-5", "+5", "0", "1000001", "2.5", "five", "", "١٢"):
        with pytest.raises(AdminError, match="bad_amount"):
            parse_credit_amount(typed)


async def test_credits_through_the_ledger_once_per_key(
    admin: AdminService, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session:
        change = await admin.users.change_credits(
            session, ADMIN_ACTOR, USER, 250, "apology for downtime", "k1"
        )
        assert (change.amount, change.balance, change.replayed) == (250, 350, False)  # 100 free + 250
        again = await admin.users.change_credits(
            session, ADMIN_ACTOR, USER, 250, "apology for downtime", "k1"
        )
        assert again.replayed and again.balance == 350
        taken = await admin.users.change_credits(session, ADMIN_ACTOR, USER, -50, "abuse", "k2")
        assert (taken.amount, taken.balance) == (-50, 300)
        with pytest.raises(AdminError) as refused:
            await admin.users.change_credits(session, ADMIN_ACTOR, USER, -1000, "too much", "k3")
        assert refused.value.code == "insufficient" and refused.value.details["balance"] == 300
        with pytest.raises(AdminError, match="bad_amount"):
            await admin.users.change_credits(session, ADMIN_ACTOR, USER, 0, "nothing", "k4")
    async with session_factory() as session:
        entries = (
            await session.scalars(
                select(LedgerEntry).where(LedgerEntry.user_id == USER).order_by(LedgerEntry.id)
            )
        ).all()
        assert [(e.amount, e.reason) for e in entries] == [
            (100, "free_credits"),
            (250, "admin_grant"),
            (-50, "admin_take"),
        ]
        assert "apology for downtime" in (entries[1].reference or "")
        balance = await session.scalar(select(CreditAccount.balance).where(CreditAccount.user_id == USER))
        assert balance == sum(e.amount for e in entries) == 300
    assert await _audit(session_factory) == [(ADMIN, "credits.grant", USER), (ADMIN, "credits.take", USER)]


async def test_powers(admin: AdminService, session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with session_factory() as session:
        for action in (
            admin.users.change_credits(session, ADMIN_ACTOR, OTHER_ADMIN, 10, "x", "a"),
            admin.users.change_credits(session, ADMIN_ACTOR, ADMIN, 10, "self", "b"),
            admin.users.ban(session, ADMIN_ACTOR, OWNER),
            admin.users.ban(session, ADMIN_ACTOR, OTHER_ADMIN),
            admin.users.ban(session, OWNER_ACTOR, OWNER),
            admin.users.set_role(session, ADMIN_ACTOR, USER, Role.ADMIN),
            admin.users.set_role(session, OWNER_ACTOR, OWNER, Role.USER),
            admin.users.delete_data(session, ADMIN_ACTOR, OTHER_ADMIN),
        ):
            with pytest.raises(AdminError, match="forbidden"):
                await action
        with pytest.raises(AdminError, match="not_found"):
            await admin.users.ban(session, OWNER_ACTOR, 999)
        # The owner may top up their own balance.
        assert (await admin.users.change_credits(session, OWNER_ACTOR, OWNER, 5, "test", "c")).amount == 5
    assert await _audit(session_factory) == [(OWNER, "credits.grant", OWNER)]


async def test_plan_and_role(admin: AdminService, session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with session_factory() as session:
        expires = await admin.users.set_plan(session, ADMIN_ACTOR, USER, "pro", key="n1")
        assert expires is not None
        with pytest.raises(AdminError, match="same_plan"):
            await admin.users.set_plan(session, ADMIN_ACTOR, USER, "pro", key="n1")
        with pytest.raises(AdminError, match="unknown_plan"):
            await admin.users.set_plan(session, ADMIN_ACTOR, USER, "platinum", key="n2")
        card = await admin.users.card(session, USER)
        assert card is not None and card.plan == "pro" and card.role == Role.SUBSCRIBER
        assert card.balance == 100 + admin.deps.billing().catalog.plan_limits("pro").monthly_credits

        assert await admin.users.set_role(session, OWNER_ACTOR, USER, Role.ADMIN) == Role.ADMIN
        with pytest.raises(AdminError, match="same_role"):
            await admin.users.set_role(session, OWNER_ACTOR, USER, Role.ADMIN)
        # Back to a regular user: still a subscriber by plan.
        assert await admin.users.set_role(session, OWNER_ACTOR, USER, Role.USER) == Role.SUBSCRIBER
        await admin.users.set_plan(session, OWNER_ACTOR, USER, "free", key="n3")
        user = await session.get(User, USER, populate_existing=True)
        assert user is not None and user.role == "user"
    assert [a for _, a, _ in await _audit(session_factory)] == [
        "plan.set",
        "role.set",
        "role.set",
        "plan.set",
    ]


async def test_ban_and_the_notice_once(
    admin: AdminService, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session:
        assert await admin.users.ban(session, ADMIN_ACTOR, USER, reason="spam")
        assert not await admin.users.ban(session, ADMIN_ACTOR, USER)
    async with session_factory() as session:
        assert await admin.bans.claim_notice(session, USER)
        await session.commit()
    async with session_factory() as session:
        assert not await admin.bans.claim_notice(session, USER)
        card = await admin.users.card(session, USER)
        assert card is not None and card.banned and card.ban_reason == "spam"
        assert await admin.users.unban(session, ADMIN_ACTOR, USER)
        assert await session.get(UserBan, USER) is None
        # Banned again: told again.
        await admin.users.ban(session, ADMIN_ACTOR, USER)
        assert await admin.bans.claim_notice(session, USER)
        await session.commit()
    assert [a for _, a, _ in await _audit(session_factory)] == ["user.ban", "user.unban", "user.ban"]


async def test_notice_for_a_ban_set_by_hand(
    admin: AdminService, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session:
        user = await session.get(User, USER)
        assert user is not None
        user.banned = True
        await session.commit()
    async with session_factory() as session:
        assert await admin.bans.claim_notice(session, USER)
        await session.commit()
    async with session_factory() as session:
        assert not await admin.bans.claim_notice(session, USER)


async def test_delete_data_keeps_the_accounts(
    admin: AdminService, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    first = await add_book(session_factory, USER, title="One")
    second = await add_book(session_factory, USER, status="failed", title="Two")
    other = await add_book(session_factory, ADMIN, title="Someone else's")
    await add_payment(session_factory, USER)
    async with session_factory() as session:
        session.add(
            ChatTurn(
                user_id=USER,
                book_id=first,
                question="q",
                search_query="q",
                answer="a",
                citations=[],
                provider="x",
            )
        )
        session.add(Event(user_id=USER, kind="message.text", properties={}))
        await session.commit()
        await admin.users.change_credits(session, OWNER_ACTOR, USER, 10, "before deletion", "d1")
        result = await admin.users.delete_data(session, ADMIN_ACTOR, USER)
    assert (result.books, result.turns) == (2, 1)
    assert sorted(admin.deps.books().deleted) == sorted([(USER, first), (USER, second)])  # type: ignore[attr-defined]
    async with session_factory() as session:
        user = await session.get(User, USER)
        assert user is not None and (user.username, user.first_name, user.last_name) == (None, None, None)
        assert "data_deleted_at" in user.settings
        assert await session.scalar(select(func.count(Book.id)).where(Book.user_id == USER)) == 0
        assert await session.get(Book, other) is not None
        assert await session.scalar(select(func.count(ChatTurn.id)).where(ChatTurn.user_id == USER)) == 0
        assert await session.scalar(select(func.count(Event.id)).where(Event.user_id.is_(None))) == 1
        assert await session.scalar(select(func.count(Payment.id)).where(Payment.user_id == USER)) == 1
        assert (
            await session.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.user_id == USER)) == 2
        )
    assert (ADMIN, "user.delete_data", USER) in await _audit(session_factory)


async def test_audit_log_reads(
    admin: AdminService, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session:
        for n in range(3):
            await admin.audit.record(
                session, ADMIN, "credits.grant", USER, amount=n, when=None, tags={"a", "b"} if n else None
            )
        await admin.audit.record(session, OWNER, "user.ban", ADMIN)
        await session.commit()
        about_user = await admin.audit.recent(session, target_user_id=USER)
        assert [e.details["amount"] for e in about_user] == [2, 1, 0]  # newest first
        assert sorted(about_user[0].details["tags"]) == ["a", "b"]
        assert await admin.audit.count(session, target_user_id=USER) == 3
        assert [e.action for e in await admin.audit.recent(session, actor_id=OWNER)] == ["user.ban"]
        assert len(await admin.audit.recent(session, limit=2)) == 2
