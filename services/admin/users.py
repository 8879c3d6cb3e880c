"""The user card and what admins do to users: credits, plan, role, ban, and deleting their data.

Each action checks the actor's powers again (whatever the buttons showed), changes through the owning
feature's service (credits through the billing ledger, books through ingestion), writes the audit entry
in the same transaction and commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.models import (
    Achievement,
    AnswerCacheEntry,
    Book,
    BookSummary,
    ChatTurn,
    CreditAccount,
    Delivery,
    Event,
    LeaderboardEntry,
    LLMUsageRecord,
    Payment,
    ReadingStreak,
    User,
)
from services.admin.actor import Actor, AdminError
from services.admin.audit import AuditAction, AuditLog
from services.admin.bans import BanRegistry
from services.admin.deps import Dependencies
from services.admin.roles import Role, can_set_role, effective_role, outranks, stored_role_for_plan
from services.billing.plans import FREE, PLANS
from services.cards.shares import erase_user_quotes

MAX_CREDITS_CHANGE = 1_000_000
REASON_LIMIT = 200
DELETED_KEY = "data_deleted_at"
_CREDIT_AMOUNT = re.compile(r"[0-9]{1,7}")


def parse_credit_amount(text: str) -> int:
    """The number of credits an admin typed: a whole number from 1 to MAX_CREDITS_CHANGE ("1 000" too).
    A sign is refused, never dropped: giving and taking are separate actions, so "-5" typed to give
    credits must not give 5. Raises AdminError("bad_amount")."""
    digits = text.strip().replace(" ", "").replace("_", "")
    if not _CREDIT_AMOUNT.fullmatch(digits) or not 0 < int(digits) <= MAX_CREDITS_CHANGE:
        raise AdminError("bad_amount", limit=MAX_CREDITS_CHANGE)
    return int(digits)


@dataclass(frozen=True, slots=True)
class UserCard:
    """Everything the admin's user card shows."""

    user_id: int
    username: str | None
    first_name: str | None
    last_name: str | None
    language: str
    role: Role
    plan: str
    plan_expires_at: datetime | None
    trial_ends_at: datetime | None
    balance: int
    books_total: int
    books_ready: int
    books_failed: int
    pages: int
    questions: int
    created_at: datetime
    last_seen_at: datetime
    banned: bool
    ban_reason: str | None
    blocked_bot: bool
    data_deleted_at: str | None
    payments: int
    paid_stars: int
    paid_kopecks: int
    recent_payments: list[Payment] = field(default_factory=list)

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


@dataclass(frozen=True, slots=True)
class CreditChange:
    amount: int  # signed: positive granted, negative taken
    balance: int
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class DataDeletion:
    books: int
    turns: int


class UserAdmin:
    def __init__(self, deps: Dependencies, audit: AuditLog, bans: BanRegistry) -> None:
        self.deps = deps
        self.audit = audit
        self.bans = bans

    @property
    def admin_ids(self) -> list[int]:
        return self.deps.settings.admin_ids

    # --- reading ----------------------------------------------------------------------------------

    async def role_of(self, session: AsyncSession, user: User) -> Role:
        plan = await session.scalar(select(CreditAccount.plan).where(CreditAccount.user_id == user.id))
        return effective_role(user, self.admin_ids, plan)

    async def card(self, session: AsyncSession, user_id: int) -> UserCard | None:
        """Reads only: a user without a credit account shows Free and 0 (none is created by looking)."""
        user = await session.get(User, user_id, populate_existing=True)
        if user is None:
            return None
        account = await session.get(CreditAccount, user_id, populate_existing=True)
        plan = account.plan if account else FREE

        async def count(query: Select[Any]) -> int:
            return int(await session.scalar(query) or 0)

        books = select(func.count(Book.id)).where(Book.user_id == user_id)
        paid = select(
            Payment.currency, func.count(Payment.id), func.coalesce(func.sum(Payment.amount), 0)
        ).where(Payment.user_id == user_id, Payment.status == "paid")
        by_currency = {
            str(c): (int(n), int(s))
            for c, n, s in (await session.execute(paid.group_by(Payment.currency))).all()
        }
        recent = await session.scalars(
            select(Payment)
            .where(Payment.user_id == user_id)
            .order_by(Payment.created_at.desc(), Payment.id.desc())
            .limit(5)
        )
        ban = await self.bans.get(session, user_id) if user.banned else None
        deleted = (user.settings or {}).get(DELETED_KEY)
        return UserCard(
            user_id=user.id,
            username=user.username,
            first_name=user.first_name,
            last_name=user.last_name,
            language=user.language,
            role=effective_role(user, self.admin_ids, plan if account else None),
            plan=plan,
            plan_expires_at=account.plan_expires_at if account else None,
            trial_ends_at=account.trial_ends_at if account else None,
            balance=account.balance if account else 0,
            books_total=await count(books),
            books_ready=await count(books.where(Book.status == "ready")),
            books_failed=await count(books.where(Book.status == "failed")),
            pages=await count(
                select(func.coalesce(func.sum(Book.pages), 0)).where(
                    Book.user_id == user_id, Book.status == "ready"
                )
            ),
            questions=await count(select(func.count(ChatTurn.id)).where(ChatTurn.user_id == user_id)),
            created_at=user.created_at,
            last_seen_at=user.last_seen_at,
            banned=user.banned,
            ban_reason=ban.reason if ban else None,
            blocked_bot=user.blocked_bot,
            data_deleted_at=str(deleted) if deleted else None,
            payments=sum(n for n, _ in by_currency.values()),
            paid_stars=by_currency.get("XTR", (0, 0))[1],
            paid_kopecks=by_currency.get("RUB", (0, 0))[1],
            recent_payments=list(recent.all()),
        )

    async def count(self, session: AsyncSession) -> int:
        return int(await session.scalar(select(func.count(User.id))) or 0)

    async def newest(
        self, session: AsyncSession, *, offset: int = 0, limit: int = 8
    ) -> tuple[list[User], int]:
        users = await session.scalars(
            select(User).order_by(User.created_at.desc(), User.id.desc()).offset(offset).limit(limit)
        )
        return list(users.all()), await self.count(session)

    # --- acting -----------------------------------------------------------------------------------

    async def _target(
        self, session: AsyncSession, actor: Actor, user_id: int, *, allow_self: bool
    ) -> tuple[User, Role]:
        user = await session.get(User, user_id)
        if user is None:
            raise AdminError("not_found")
        role = await self.role_of(session, user)
        if user.id == actor.id:
            if not allow_self:
                raise AdminError("forbidden")
        elif not outranks(actor.role, role):
            raise AdminError("forbidden")
        return user, role

    async def change_credits(
        self, session: AsyncSession, actor: Actor, user_id: int, amount: int, reason: str, key: str
    ) -> CreditChange:
        """Grant (amount > 0) or take (amount < 0) credits through the ledger, once per `key`; commits.

        Taking more than the balance is refused (`insufficient`) rather than clipped, so the admin sees
        what is there. The owner may also change their own balance; admins only those of users.
        """
        if amount == 0 or abs(amount) > MAX_CREDITS_CHANGE:
            raise AdminError("bad_amount", limit=MAX_CREDITS_CHANGE)
        await self._target(session, actor, user_id, allow_self=actor.role == Role.OWNER)
        billing = self.deps.billing()
        ledger_key = f"admin:{key}"
        earlier = await billing.ledger.find(session, ledger_key)
        if earlier is not None:
            return CreditChange(earlier.amount, earlier.balance, replayed=True)
        await billing.ensure_account(session, user_id)
        reason = " ".join(reason.split())[:REASON_LIMIT]
        ref = f"admin:{actor.id}:{reason}"[:128]
        if amount > 0:
            result = await billing.ledger.grant(
                session, user_id, amount, "admin_grant", ref, ledger_key, add_to_period=True
            )
        else:
            result = await billing.ledger.charge(session, user_id, -amount, "admin_take", ref, ledger_key)
            if not result.ok:
                await session.commit()  # nothing taken; only a new account (with its welcome credits) is kept
                raise AdminError("insufficient", balance=result.balance)
        action = AuditAction.CREDITS_GRANT if amount > 0 else AuditAction.CREDITS_TAKE
        await self.audit.record(
            session,
            actor.id,
            action,
            user_id,
            amount=amount,
            reason=reason,
            balance=result.balance,
            key=ledger_key,
        )
        await session.commit()
        return CreditChange(result.amount, result.balance, replayed=result.replayed)

    async def set_plan(
        self, session: AsyncSession, actor: Actor, user_id: int, plan: str, key: str
    ) -> datetime | None:
        """Put the user on `plan` (paid plans for a month, with their monthly credits once per `key`),
        or back on Free; commits. Returns the paid plan's expiry."""
        if plan not in PLANS:
            raise AdminError("unknown_plan")
        user, _ = await self._target(session, actor, user_id, allow_self=actor.role == Role.OWNER)
        billing = self.deps.billing()
        account = await billing.ensure_account(session, user_id)
        if account.plan == plan and account.trial_ends_at is None:
            raise AdminError("same_plan")
        previous = account.plan
        expires: datetime | None = None
        if plan == FREE:
            await billing.end_plan(session, user_id)
        else:
            credits = billing.catalog.plan_limits(plan).monthly_credits
            expires = await billing.activate_plan(
                session, user_id, plan, expires_at=None, credits=credits,
                idempotency_key=f"admin-plan:{key}", ref=f"admin:{actor.id}",
            )  # fmt: skip
        user.role = stored_role_for_plan(user.role, plan)
        await self.audit.record(
            session, actor.id, AuditAction.PLAN_SET, user_id, plan=plan, previous=previous, expires_at=expires
        )
        await session.commit()
        return expires

    async def set_role(self, session: AsyncSession, actor: Actor, user_id: int, role: Role) -> Role:
        """Owners make admins and take the role back; commits. Returns the user's new effective role."""
        user = await session.get(User, user_id)
        if user is None:
            raise AdminError("not_found")
        current = await self.role_of(session, user)
        if user.id == actor.id or not can_set_role(actor.role, current, role):
            raise AdminError("forbidden")
        if (role == Role.ADMIN) == (current == Role.ADMIN):
            raise AdminError("same_role")
        plan = await session.scalar(select(CreditAccount.plan).where(CreditAccount.user_id == user_id))
        previous = user.role
        user.role = Role.ADMIN if role == Role.ADMIN else stored_role_for_plan(Role.USER, plan or FREE)
        await self.audit.record(
            session, actor.id, AuditAction.ROLE_SET, user_id, role=user.role, previous=previous
        )
        await session.commit()
        return effective_role(user, self.admin_ids, plan)

    async def ban(self, session: AsyncSession, actor: Actor, user_id: int, reason: str | None = None) -> bool:
        """Ban; False when already banned. Commits."""
        user, _ = await self._target(session, actor, user_id, allow_self=False)
        changed = await self.bans.ban(session, user, by=actor.id, reason=reason)
        if changed:
            await self.audit.record(session, actor.id, AuditAction.USER_BAN, user_id, reason=reason)
        await session.commit()
        return changed

    async def unban(self, session: AsyncSession, actor: Actor, user_id: int) -> bool:
        user, _ = await self._target(session, actor, user_id, allow_self=False)
        changed = await self.bans.unban(session, user)
        if changed:
            await self.audit.record(session, actor.id, AuditAction.USER_UNBAN, user_id)
        await session.commit()
        return changed

    async def delete_data(self, session: AsyncSession, actor: Actor, user_id: int) -> DataDeletion:
        """Delete what the user gave and asked: books (with their vectors, chunks and files, through
        ingestion), conversations, cached answers, summaries, pending deliveries; strip names and settings.
        Payments, orders, the credit account and the ledger stay for the accounts, tied only to the
        numeric id (refunds need it); LLM usage and analytics events stay as anonymous numbers. Commits."""
        await self._target(session, actor, user_id, allow_self=False)
        return await self._erase(session, actor.id, user_id)

    async def delete_own_data(self, session: AsyncSession, user_id: int) -> DataDeletion:
        """/delete_me: the same erasure as an admin's delete, asked by the user for themselves. Commits."""
        if await session.get(User, user_id) is None:
            raise AdminError("not_found")
        return await self._erase(session, user_id, user_id)

    async def _erase(self, session: AsyncSession, actor_id: int, user_id: int) -> DataDeletion:
        book_ids = list((await session.scalars(select(Book.id).where(Book.user_id == user_id))).all())
        # Nothing written in this session yet: ingestion deletes in its own transactions (SQLite allows
        # one writer at a time, so holding a write here would make it wait on us).
        await session.commit()
        books = self.deps.books()
        deleted = 0
        for book_id in book_ids:
            if await books.delete(user_id, book_id):
                deleted += 1
        target = await session.get(User, user_id, populate_existing=True)
        assert target is not None
        for leftover in (await session.scalars(select(Book.id).where(Book.user_id == user_id))).all():
            await session.execute(delete(Book).where(Book.id == leftover))
        turns = await session.execute(delete(ChatTurn).where(ChatTurn.user_id == user_id))
        await session.execute(delete(AnswerCacheEntry).where(AnswerCacheEntry.user_id == user_id))
        await session.execute(delete(BookSummary).where(BookSummary.user_id == user_id))
        await erase_user_quotes(session, user_id)  # their cards' links stop opening
        await session.execute(delete(Delivery).where(Delivery.user_id == user_id))
        await session.execute(delete(ReadingStreak).where(ReadingStreak.user_id == user_id))
        await session.execute(delete(Achievement).where(Achievement.user_id == user_id))
        await session.execute(delete(LeaderboardEntry).where(LeaderboardEntry.user_id == user_id))
        await session.execute(
            update(LLMUsageRecord).where(LLMUsageRecord.user_id == user_id).values(user_id=None)
        )
        await session.execute(update(Event).where(Event.user_id == user_id).values(user_id=None))
        now = utcnow()
        target.username = target.first_name = target.last_name = None
        target.timezone = None
        target.referrer_id = None
        target.active_book_id = None
        target.settings = {DELETED_KEY: now.isoformat()}
        result = DataDeletion(books=deleted, turns=int(turns.rowcount or 0))  # type: ignore[attr-defined]
        await self.audit.record(
            session, actor_id, AuditAction.USER_DELETE_DATA, user_id, books=result.books, turns=result.turns
        )
        await session.commit()
        return result
