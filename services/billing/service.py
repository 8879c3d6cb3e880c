"""Billing: accounts, quotes, charges, plans, the trial, monthly renewals and referral bonuses.

Other features call this service (one `AsyncSession` in, nothing committed unless a method says so):
- chat: `hold_answer(...)` before an answer is made (committed before the LLM is called),
  `settle_answer(...)` in the transaction that records it, `quote_summary()` for the summary
  confirmation, `limits()` for the model; ingestion: `limits()` (books, file size) and the before-index charge installed at start-up;
- scheduled jobs: `renew_due`, `expire_trials`, `trials_ending_within` (these commit per user).

Policies (documented in the README):
- Free credits are topped up to the monthly amount each month (no rollover); paid plans grant their
  monthly credits with each payment, on top of what is there.
- An action is refused up front when the balance cannot cover its price (`check_can_afford`). An answer or
  a book that turns out dearer than the balance after the fact takes what is left: never below zero.
- One warning per period when 80% (BILLING_WARN_AT_PERCENT) of the period's credits are used: a period's
  credits are the balance at its start plus everything bought or granted during it.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import utcnow
from db.models.billing import CreditAccount, LedgerEntry, Payment
from db.models.users import User
from services.billing.ledger import CreditLedger, LedgerResult
from services.billing.notices import PaymentNotices
from services.billing.plans import FREE, PAID_PLANS, PRO, Catalog, PlanLimits
from services.billing.pricing import Pricing, TokenUsage
from services.billing.sql import insert_ignoring_conflicts
from services.config import ServiceSettings

if TYPE_CHECKING:
    from services.billing.orders import OrderBook, RefundOutcome
    from services.billing.stars import StarsPayments
    from services.billing.yookassa import PaymentEvent, YooKassaPayments

logger = logging.getLogger(__name__)

Action = Literal["question", "ingestion", "summary"]
RefusalReason = Literal["no_credits", "daily_limit", "books_limit", "file_too_large"]


def add_month(moment: datetime, months: int = 1) -> datetime:
    """The same day and time `months` later (the 31st becomes the month's last day)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


@dataclass(frozen=True, slots=True)
class ChargeOutcome:
    """What a charge did. `ok` False: refused, nothing charged. `warn_low`: this period's one
    low-credits warning is due now (show it); `depleted`: the balance is now zero."""

    ok: bool
    credits: int
    balance: int
    replayed: bool = False
    warn_low: bool = False
    depleted: bool = False


@dataclass(frozen=True, slots=True)
class AnswerHold:
    """What one answer holds until it is settled: credits (up to its dearest price) and, for a question,
    one of today's questions. `refusal` is set (and nothing held) when the plan or balance says no."""

    ref: str
    credits: int = 0
    counted: bool = False
    refusal: Affordability | None = None

    @property
    def ok(self) -> bool:
        return self.refusal is None


@dataclass(frozen=True, slots=True)
class Affordability:
    """Whether an action may go ahead; `reason` says why not (the handler maps it to text)."""

    ok: bool
    cost: int
    balance: int
    limits: PlanLimits
    reason: RefusalReason | None = None


@dataclass(frozen=True, slots=True)
class BalanceSummary:
    """Everything /balance shows."""

    balance: int
    plan: str
    limits: PlanLimits
    plan_expires_at: datetime | None
    trial_ends_at: datetime | None
    period_start: datetime
    period_end: datetime
    period_credits: int
    period_used: int
    questions_today: int
    subscription_active: bool
    subscription_canceled: bool

    @property
    def on_trial(self) -> bool:
        return self.trial_ends_at is not None

    @property
    def next_credits_at(self) -> datetime:
        """When credits come next: the free month's end, or a paid plan's renewal."""
        if self.plan != FREE and self.plan_expires_at is not None:
            return self.plan_expires_at
        return self.period_end


@dataclass(frozen=True, slots=True)
class TrialStart:
    ends_at: datetime
    credits: int


@dataclass(frozen=True, slots=True)
class TrialEnding:
    user_id: int
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class Renewal:
    """A period that rolled over: `renewed` (free credits topped up) or `downgraded` (a paid plan lapsed)."""

    user_id: int
    kind: Literal["renewed", "downgraded", "trial_ended"]
    credits: int
    balance: int


@dataclass(frozen=True, slots=True)
class ReferralBonus:
    """Both sides of a referral got `bonus` credits (now, or earlier when `granted` is False)."""

    referrer_id: int
    invitee_id: int
    bonus: int
    granted: bool


class BillingService:
    """Credits, plans and prices; see the module docstring. Payments live in `orders`, `stars`, `yookassa`."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        ledger: CreditLedger | None = None,
        session_factory: async_sessionmaker[AsyncSession] | None = None,
        notices: PaymentNotices | None = None,
    ) -> None:
        self.settings = settings
        self.catalog = Catalog(settings)
        self.pricing = Pricing(settings)
        self.ledger = ledger or CreditLedger()
        self.session_factory = session_factory
        self.llm_available = bool(
            settings.gemini_api_key or settings.openai_api_key or settings.openai_base_url
        )
        # Wired by services.billing.factory.build_billing: the payment providers, and who tells
        # users about payments settled outside a chat (YooKassa notifications, re-checks).
        self.orders: OrderBook | None = None
        self.stars: StarsPayments | None = None
        self.yookassa: YooKassaPayments | None = None
        self.notices = notices or PaymentNotices()

    @property
    def card_payments(self) -> bool:
        """Whether card payments (YooKassa) are configured."""
        return self.yookassa is not None

    async def recheck_pending(
        self, session: AsyncSession | datetime | None = None, now: datetime | None = None
    ) -> list[PaymentEvent]:
        """Re-read card payments left pending (see YooKassaPayments.recheck_pending) and tell their users
        what happened. Call it as (session, now), or as (now) to let it open its own session."""
        if self.yookassa is None:
            return []
        if not isinstance(session, AsyncSession):
            now = now or (session if isinstance(session, datetime) else None)
            assert self.session_factory is not None, "recheck_pending(now) needs a session factory"
            async with self.session_factory() as own:
                events = await self.yookassa.recheck_pending(own, now)
        else:
            events = await self.yookassa.recheck_pending(session, now)
        for event in events:
            await self.announce(event)
        return events

    async def announce(self, event: PaymentEvent) -> None:
        """Tell the user about a card payment settled outside the chat (see PaymentNotices)."""
        await self.notices.announce(event)

    async def announce_refund(self, outcome: RefundOutcome, refunded_by: int) -> None:
        """Tell the user that an admin refunded their payment (see PaymentNotices)."""
        await self.notices.announce_refund(outcome, refunded_by)

    # Who tells users about payments: kept as attributes of the service for the wiring and tests.
    @property
    def on_payment_event(self) -> Callable[[PaymentEvent], Awaitable[None]] | None:
        return self.notices.on_payment_event

    @on_payment_event.setter
    def on_payment_event(self, send: Callable[[PaymentEvent], Awaitable[None]] | None) -> None:
        self.notices.on_payment_event = send

    @property
    def on_refund(self) -> Callable[[RefundOutcome], Awaitable[None]] | None:
        return self.notices.on_refund

    @on_refund.setter
    def on_refund(self, send: Callable[[RefundOutcome], Awaitable[None]] | None) -> None:
        self.notices.on_refund = send

    # --- accounts ---------------------------------------------------------------------------------

    async def ensure_account(
        self, session: AsyncSession, user_id: int, now: datetime | None = None
    ) -> CreditAccount:
        """The user's credit account; a new one starts on Free with this month's free credits."""
        account = await session.get(CreditAccount, user_id)
        if account is not None:
            return account
        now = now or utcnow()
        statement = insert_ignoring_conflicts(
            session,
            CreditAccount,
            {
                "user_id": user_id,
                "balance": 0,
                "plan": FREE,
                "period_start": now,
                "period_end": add_month(now),
                "period_credits": 0,
                "period_used": 0,
                "trial_used": False,
                "warned_80": False,
                "day_questions": 0,
                "subscription_canceled": False,
                "created_at": now,
                "updated_at": now,
            },
            conflict_columns=["user_id"],
        ).returning(CreditAccount.user_id)
        created = (await session.execute(statement)).first() is not None
        free = self.catalog.plan_limits(FREE).monthly_credits
        if created and free > 0:
            await self.ledger.grant(
                session,
                user_id,
                free,
                "free_credits",
                None,
                f"welcome:{user_id}",
                add_to_period=True,
                now=now,
            )
        account = await session.get(CreditAccount, user_id, populate_existing=True)
        assert account is not None
        return account

    async def limits(self, session: AsyncSession, user_id: int) -> PlanLimits:
        """The limits of the user's plan (Free for a user without an account yet)."""
        plan = await session.scalar(select(CreditAccount.plan).where(CreditAccount.user_id == user_id))
        return self.catalog.plan_limits(plan or FREE)

    async def summary(
        self, session: AsyncSession, user_id: int, now: datetime | None = None
    ) -> BalanceSummary:
        now = now or utcnow()
        account = await self.ensure_account(session, user_id, now)
        today = now.date().isoformat()
        return BalanceSummary(
            balance=account.balance,
            plan=account.plan,
            limits=self.catalog.plan_limits(account.plan),
            plan_expires_at=account.plan_expires_at,
            trial_ends_at=account.trial_ends_at,
            period_start=account.period_start,
            period_end=account.period_end,
            period_credits=account.period_credits,
            period_used=account.period_used,
            questions_today=account.day_questions if account.day == today else 0,
            subscription_active=account.subscription_charge_id is not None
            and not account.subscription_canceled,
            subscription_canceled=account.subscription_charge_id is not None
            and account.subscription_canceled,
        )

    async def history(self, session: AsyncSession, user_id: int, limit: int = 10) -> list[LedgerEntry]:
        """The latest changes of the balance, newest first."""
        return await self.ledger.entries(session, user_id, limit)

    async def payments(self, session: AsyncSession, user_id: int, limit: int = 10) -> list[Payment]:
        """The user's latest payments, newest first."""
        rows = await session.scalars(
            select(Payment)
            .where(Payment.user_id == user_id)
            .order_by(Payment.created_at.desc(), Payment.id.desc())
            .limit(limit)
        )
        return list(rows.all())

    async def plan_members(self, session: AsyncSession, plan: str) -> set[int]:
        """Ids of the users on `plan` (users without an account are on Free): broadcasts use this."""
        if plan == FREE:
            paid = select(CreditAccount.user_id).where(CreditAccount.plan != FREE)
            rows = await session.scalars(select(User.id).where(User.id.not_in(paid)))
        else:
            rows = await session.scalars(select(CreditAccount.user_id).where(CreditAccount.plan == plan))
        return set(rows.all())

    # --- quotes -------------------------------------------------------------------------------------

    def quote_answer(self, usage: TokenUsage | Sequence[TokenUsage] | None, *, cached: bool = False) -> int:
        """Credits an answer costs given its LLM usage (None: extractive). A cached answer is free."""
        return 0 if cached else self.pricing.answer_credits(usage)

    def quote_question(self) -> int:
        """The least a question costs (what the user must have before asking)."""
        return self.pricing.question_estimate(self.llm_available)

    def quote_ingestion(self, pages: int) -> int:
        return self.pricing.ingestion_credits(pages)

    def quote_summary(self) -> int:
        """A whole-book summary's price, for the confirmation screen."""
        return self.pricing.summary_credits()

    def needs_confirmation(self, credits: int) -> bool:
        return self.pricing.needs_confirmation(credits)

    async def quote_model_work(
        self, session: AsyncSession, user_id: int, *, input_tokens: int, output_tokens: int
    ) -> int:
        """The most this much model work (a chapter summary, a study question) can cost on the user's
        plan: what `hold_answer` would hold for it, shown for confirmation above the threshold."""
        account = await self.ensure_account(session, user_id)
        limits = self.catalog.plan_limits(account.plan)
        return max(self.quote_question(), self._ceiling(limits, input_tokens, output_tokens))

    def _ceiling(self, limits: PlanLimits, input_tokens: int, output_tokens: int) -> int:
        models = [(p, limits.model_for(p, self._default_model(p)) or "") for p in self.settings.llm_order]
        return self.pricing.answer_ceiling(models, input_tokens, output_tokens)

    async def check_can_afford(
        self,
        session: AsyncSession,
        user_id: int,
        action: Action,
        *,
        cost: int | None = None,
        pages: int | None = None,
        books_now: int | None = None,
        file_size: int | None = None,
        now: datetime | None = None,
    ) -> Affordability:
        """May the user do this now? Checks the plan's limits (questions a day; books and file size when
        given) and whether the balance covers the price. Changes nothing but creating the account."""
        now = now or utcnow()
        account = await self.ensure_account(session, user_id, now)
        limits = self.catalog.plan_limits(account.plan)
        if cost is None:
            if action == "question":
                cost = self.quote_question()
            elif action == "ingestion":
                cost = self.quote_ingestion(pages or 1)
            else:
                cost = self.quote_summary()
        balance = account.balance
        reason: RefusalReason | None = None
        if action == "question":
            today = account.day_questions if account.day == now.date().isoformat() else 0
            if not limits.allows_question(today):
                reason = "daily_limit"
        if action == "ingestion":
            if books_now is not None and not limits.allows_another_book(books_now):
                reason = "books_limit"
            elif file_size is not None and not limits.allows_file(file_size):
                reason = "file_too_large"
        if reason is None and balance < cost:
            reason = "no_credits"
        return Affordability(ok=reason is None, cost=cost, balance=balance, limits=limits, reason=reason)

    # --- charges ------------------------------------------------------------------------------------

    async def hold_answer(
        self,
        session: AsyncSession,
        user_id: int,
        ref: str,
        *,
        input_tokens: int = 0,
        output_tokens: int = 0,
        question: bool = True,
        now: datetime | None = None,
    ) -> AnswerHold:
        """Before an answer is made: take one of today's questions (when `question`) and hold its
        credits, in the caller's transaction (commit it before calling the LLM). With an LLM the hold is
        the dearest the answer can cost for this many tokens at the plan's models, or the whole balance
        when that is less, but never less than the cheapest answer; `settle_answer` brings it to the
        real price. Conditional updates throughout, so concurrent questions can neither pass the day's
        limit nor be answered unpaid."""
        now = now or utcnow()
        account = await self.ensure_account(session, user_id, now)
        limits, balance = self.catalog.plan_limits(account.plan), account.balance
        least = self.quote_question()
        if question and not await self._take_question(session, user_id, limits.questions_per_day, now):
            return AnswerHold(ref, refusal=self._refusal(balance, least, limits, "daily_limit"))
        if least <= 0:
            return AnswerHold(ref, counted=question)
        most = max(least, self._ceiling(limits, input_tokens, output_tokens))
        held = await self.ledger.hold(session, user_id, least, most, "answer", ref, f"answer:{ref}", now=now)
        if not held.ok:
            if question:
                await self._give_back_question(session, user_id, now)
            return AnswerHold(ref, refusal=self._refusal(held.balance, least, limits, "no_credits"))
        return AnswerHold(ref, credits=-held.amount, counted=question)

    async def settle_answer(
        self,
        session: AsyncSession,
        user_id: int,
        hold: AnswerHold,
        usage: TokenUsage | Sequence[TokenUsage] | None,
        *,
        cached: bool = False,
        answered: bool = True,
        now: datetime | None = None,
    ) -> ChargeOutcome:
        """Bring a held answer to its real price (by `usage`; None: extractive; cached: free), in the
        caller's transaction. An answer not `answered` (nothing found, or it failed) gives back its
        credits and its question. More than was held takes what is left, never below zero."""
        now = now or utcnow()
        if not hold.ok:
            return ChargeOutcome(ok=False, credits=0, balance=await self.ledger.balance(session, user_id))
        price = self.quote_answer(usage, cached=cached) if answered else 0
        if not answered and hold.counted:
            await self._give_back_question(session, user_id, now)
        extra = price - hold.credits
        if extra > 0:
            result = await self.ledger.take(
                session, user_id, extra, "answer", hold.ref, f"answer:{hold.ref}:rest", count_as_usage=True,
                now=now,
            )  # fmt: skip
            return await self._outcome(session, user_id, replace(result, amount=result.amount - hold.credits))
        if extra < 0:
            await self._give_back(
                session, user_id, -extra, "answer_return", hold.ref, f"answer:{hold.ref}:back", now
            )
        balance = await self.ledger.balance(session, user_id)
        if price <= 0:
            return ChargeOutcome(ok=True, credits=0, balance=balance)
        return await self._outcome(session, user_id, LedgerResult(ok=True, amount=-price, balance=balance))

    async def charge_for_ingestion(
        self, session: AsyncSession, user_id: int, pages: int, book_id: int, *, now: datetime | None = None
    ) -> ChargeOutcome:
        """Charge for indexing a book, refusing (ok False, nothing charged) when the balance is short.
        Repeats for the same book charge once, until a refund (`refund_ingestion`) opens a new round."""
        now = now or utcnow()
        await self.ensure_account(session, user_id, now)
        credits = self.quote_ingestion(pages)
        if credits <= 0:
            return ChargeOutcome(ok=True, credits=0, balance=await self.ledger.balance(session, user_id))
        key = f"ingest:{book_id}:{await self._ingestion_round(session, book_id)}"
        result = await self.ledger.charge(
            session, user_id, credits, "ingestion", f"book:{book_id}", key, count_as_usage=True, now=now
        )
        return await self._outcome(session, user_id, result)

    async def refund_ingestion(
        self, session: AsyncSession, user_id: int, book_id: int, *, now: datetime | None = None
    ) -> int:
        """Give back what indexing a book cost, when it failed for good; returns the credits given back."""
        round_ = await self._ingestion_round(session, book_id)
        charged = await session.scalar(
            select(LedgerEntry.amount).where(LedgerEntry.idempotency_key == f"ingest:{book_id}:{round_}")
        )
        if not charged or charged >= 0:
            return 0
        await self._give_back(
            session,
            user_id,
            -charged,
            "ingestion_refund",
            f"book:{book_id}",
            f"ingest-refund:{book_id}:{round_}",
            now,
        )
        return -charged

    async def _give_back(
        self,
        session: AsyncSession,
        user_id: int,
        credits: int,
        reason: str,
        ref: str,
        key: str,
        now: datetime | None,
    ) -> None:
        """Return credits that were charged for something not delivered, and take them off this period's use."""
        result = await self.ledger.grant(session, user_id, credits, reason, ref, key, now=now)
        if result.replayed:
            return
        await session.execute(
            update(CreditAccount)
            .where(CreditAccount.user_id == user_id, CreditAccount.period_used >= credits)
            .values(period_used=CreditAccount.period_used - credits),
            execution_options={"synchronize_session": False},
        )
        self.ledger.forget_cached(session, user_id)

    async def _ingestion_round(self, session: AsyncSession, book_id: int) -> int:
        """How many times this book's charge was refunded: each refund lets a retry be charged anew."""
        refunds = await session.scalar(
            select(func.count())
            .select_from(LedgerEntry)
            .where(LedgerEntry.idempotency_key.like(f"ingest-refund:{book_id}:%"))
        )
        return int(refunds or 0)

    async def charge_for_summary(
        self,
        session: AsyncSession,
        user_id: int,
        book_id: int,
        ref: str,
        *,
        credits: int | None = None,
        already_made: bool = False,
        now: datetime | None = None,
    ) -> ChargeOutcome:
        """Charge for a whole-book summary the user confirmed (`credits`: the price they were shown).
        Refuses (ok False, nothing charged) when the balance is short, unless the summary is
        `already_made`: then it takes what is left. `ref` makes a repeat charge once."""
        now = now or utcnow()
        await self.ensure_account(session, user_id, now)
        price = self.quote_summary() if credits is None else credits
        if price <= 0:
            return ChargeOutcome(ok=True, credits=0, balance=await self.ledger.balance(session, user_id))
        if already_made:
            return await self._charge_after_the_fact(
                session, user_id, price, "summary", f"book:{book_id}", f"summary:{ref}", now
            )
        result = await self.ledger.charge(
            session,
            user_id,
            price,
            "summary",
            f"book:{book_id}",
            f"summary:{ref}",
            count_as_usage=True,
            now=now,
        )
        return await self._outcome(session, user_id, result)

    async def _charge_after_the_fact(
        self,
        session: AsyncSession,
        user_id: int,
        credits: int,
        reason: str,
        ref: str,
        key: str,
        now: datetime,
    ) -> ChargeOutcome:
        result = await self.ledger.charge(
            session, user_id, credits, reason, ref, key, count_as_usage=True, now=now
        )
        if not result.ok:
            # Already delivered: take what is left rather than go below zero.
            result = await self.ledger.take(
                session, user_id, credits, reason, ref, key, count_as_usage=True, now=now
            )
        return await self._outcome(session, user_id, result)

    async def _outcome(self, session: AsyncSession, user_id: int, result: LedgerResult) -> ChargeOutcome:
        if not result.ok:
            return ChargeOutcome(ok=False, credits=0, balance=result.balance)
        warn = False if result.replayed else await self._claim_low_warning(session, user_id)
        return ChargeOutcome(
            ok=True,
            credits=-result.amount,
            balance=result.balance,
            replayed=result.replayed,
            warn_low=warn,
            depleted=result.balance == 0 and not result.replayed,
        )

    async def _claim_low_warning(self, session: AsyncSession, user_id: int) -> bool:
        """Set this period's warning flag if the threshold is crossed; True only for the one call that
        set it (a conditional update, so concurrent charges warn once)."""
        percent = self.settings.billing_warn_at_percent
        result = await session.execute(
            update(CreditAccount)
            .where(
                CreditAccount.user_id == user_id,
                CreditAccount.warned_80.is_(False),
                CreditAccount.period_credits > 0,
                CreditAccount.period_used * 100 >= CreditAccount.period_credits * percent,
            )
            .values(warned_80=True),
            execution_options={"synchronize_session": False},
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def _take_question(self, session: AsyncSession, user_id: int, per_day: int, now: datetime) -> bool:
        """Count one of today's questions if the day's limit allows it (conditional, so concurrent
        questions cannot pass the limit); False when the limit is reached."""
        today = now.date().isoformat()
        counted = await session.execute(
            update(CreditAccount)
            .where(
                CreditAccount.user_id == user_id,
                CreditAccount.day == today,
                CreditAccount.day_questions < per_day,
            )
            .values(day_questions=CreditAccount.day_questions + 1),
            execution_options={"synchronize_session": False},
        )
        if not counted.rowcount and per_day > 0:  # type: ignore[attr-defined]
            counted = await session.execute(
                update(CreditAccount)
                .where(
                    CreditAccount.user_id == user_id,
                    or_(CreditAccount.day.is_(None), CreditAccount.day != today),
                )
                .values(day=today, day_questions=1),
                execution_options={"synchronize_session": False},
            )
        self.ledger.forget_cached(session, user_id)
        return bool(counted.rowcount)  # type: ignore[attr-defined]

    async def _give_back_question(self, session: AsyncSession, user_id: int, now: datetime) -> None:
        await session.execute(
            update(CreditAccount)
            .where(
                CreditAccount.user_id == user_id,
                CreditAccount.day == now.date().isoformat(),
                CreditAccount.day_questions > 0,
            )
            .values(day_questions=CreditAccount.day_questions - 1),
            execution_options={"synchronize_session": False},
        )
        self.ledger.forget_cached(session, user_id)

    def _refusal(self, balance: int, cost: int, limits: PlanLimits, reason: RefusalReason) -> Affordability:
        return Affordability(ok=False, cost=cost, balance=balance, limits=limits, reason=reason)

    def _default_model(self, provider: str) -> str | None:
        return {"gemini": self.settings.gemini_model, "openai": self.settings.openai_model}.get(provider)

    # --- plans --------------------------------------------------------------------------------------

    async def start_trial(
        self, session: AsyncSession, user_id: int, now: datetime | None = None
    ) -> TrialStart | None:
        """The Pro trial, once per user ever: None when it was had already (or a paid plan is on)."""
        if self.settings.billing_trial_days <= 0:
            return None
        now = now or utcnow()
        account = await self.ensure_account(session, user_id, now)
        if account.trial_used or account.plan != FREE:
            return None  # had it, or paying: no write (the conditional update below settles races)
        ends = now + timedelta(days=self.settings.billing_trial_days)
        result = await session.execute(
            update(CreditAccount)
            .where(
                CreditAccount.user_id == user_id,
                CreditAccount.trial_used.is_(False),
                CreditAccount.plan == FREE,
            )
            .values(
                trial_used=True,
                plan=PRO,
                trial_ends_at=ends,
                plan_expires_at=ends,
                period_start=now,
                period_end=ends,
                period_credits=CreditAccount.balance,
                period_used=0,
                warned_80=False,
                updated_at=now,
            ),
            execution_options={"synchronize_session": False},
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            return None
        self.ledger.forget_cached(session, user_id)
        credits = self.settings.billing_trial_credits
        if credits > 0:
            await self.ledger.grant(
                session, user_id, credits, "trial", None, f"trial:{user_id}", add_to_period=True, now=now
            )
        return TrialStart(ends_at=ends, credits=credits)

    async def trials_ending_within(
        self, session: AsyncSession, now: datetime, delta: timedelta
    ) -> list[TrialEnding]:
        """Trials that end in (now, now + delta]: for the notice a day before."""
        rows = await session.execute(
            select(CreditAccount.user_id, CreditAccount.trial_ends_at)
            .where(CreditAccount.trial_ends_at > now, CreditAccount.trial_ends_at <= now + delta)
            .order_by(CreditAccount.trial_ends_at)
        )
        return [TrialEnding(user_id, ends_at) for user_id, ends_at in rows.all() if ends_at is not None]

    async def expire_trials(
        self, session: AsyncSession, now: datetime | None = None, *, batch: int = 500
    ) -> list[Renewal]:
        """End the trials that are over: back to Free with this month's free credits. Idempotent;
        commits after each user."""
        now = now or utcnow()
        user_ids = list(
            (
                await session.scalars(
                    select(CreditAccount.user_id).where(CreditAccount.trial_ends_at <= now).limit(batch)
                )
            ).all()
        )
        done: list[Renewal] = []
        for user_id in user_ids:
            claimed = await session.execute(
                update(CreditAccount)
                .where(CreditAccount.user_id == user_id, CreditAccount.trial_ends_at <= now)
                .values(
                    plan=FREE,
                    trial_ends_at=None,
                    plan_expires_at=None,
                    **self._new_period(now, add_month(now)),
                ),
                execution_options={"synchronize_session": False},
            )
            if claimed.rowcount:  # type: ignore[attr-defined]
                granted, balance = await self._top_up_free(session, user_id, f"trial-end:{user_id}", now)
                done.append(Renewal(user_id, "trial_ended", granted, balance))
            await session.commit()
        return done

    async def renew_due(
        self, session: AsyncSession, now: datetime | None = None, *, batch: int = 500
    ) -> list[Renewal]:
        """Roll over the periods that are due: Free months get their credits topped up; paid plans whose
        expiry (plus BILLING_PLAN_GRACE_HOURS) has passed without a renewal payment go back to Free.
        Idempotent per user and period (a repeated run changes nothing); commits after each user."""
        now = now or utcnow()
        grace = timedelta(hours=self.settings.billing_plan_grace_hours)
        rows = (
            await session.execute(
                select(
                    CreditAccount.user_id,
                    CreditAccount.plan,
                    CreditAccount.period_end,
                    CreditAccount.plan_expires_at,
                )
                .where(
                    CreditAccount.trial_ends_at.is_(None),
                    or_(
                        and_(CreditAccount.plan == FREE, CreditAccount.period_end <= now),
                        and_(
                            CreditAccount.plan.in_(PAID_PLANS), CreditAccount.plan_expires_at <= now - grace
                        ),
                    ),
                )
                .limit(batch)
            )
        ).all()
        done: list[Renewal] = []
        for user_id, plan, period_end, plan_expires_at in rows:
            renewal: Renewal | None
            if plan == FREE:
                renewal = await self._renew_free(session, user_id, period_end, now)
            else:
                renewal = await self._downgrade(session, user_id, plan, plan_expires_at, now)
            if renewal is not None:
                done.append(renewal)
            await session.commit()
        return done

    async def _renew_free(
        self, session: AsyncSession, user_id: int, period_end: datetime, now: datetime
    ) -> Renewal | None:
        start = period_end
        while add_month(start) <= now:  # months the bot was not running for are not paid out
            start = add_month(start)
        claimed = await session.execute(
            update(CreditAccount)
            .where(
                CreditAccount.user_id == user_id,
                CreditAccount.plan == FREE,
                CreditAccount.period_end == period_end,
            )
            .values(**self._new_period(start, add_month(start))),
            execution_options={"synchronize_session": False},
        )
        if not claimed.rowcount:  # type: ignore[attr-defined]
            return None
        granted, balance = await self._top_up_free(
            session, user_id, f"renew:{user_id}:{int(start.timestamp())}", now
        )
        return Renewal(user_id, "renewed", granted, balance)

    async def _downgrade(
        self, session: AsyncSession, user_id: int, plan: str, expired_at: datetime | None, now: datetime
    ) -> Renewal | None:
        claimed = await session.execute(
            update(CreditAccount)
            .where(
                CreditAccount.user_id == user_id,
                CreditAccount.plan == plan,
                CreditAccount.plan_expires_at == expired_at,
            )
            .values(
                plan=FREE,
                plan_expires_at=None,
                subscription_charge_id=None,
                subscription_canceled=False,
                **self._new_period(now, add_month(now)),
            ),
            execution_options={"synchronize_session": False},
        )
        if not claimed.rowcount:  # type: ignore[attr-defined]
            return None
        stamp = int(expired_at.timestamp()) if expired_at else 0
        granted, balance = await self._top_up_free(session, user_id, f"downgrade:{user_id}:{stamp}", now)
        return Renewal(user_id, "downgraded", granted, balance)

    @staticmethod
    def _new_period(start: datetime, end: datetime) -> dict[str, object]:
        return {
            "period_start": start,
            "period_end": end,
            "period_credits": CreditAccount.balance,
            "period_used": 0,
            "warned_80": False,
            "updated_at": utcnow(),
        }

    async def _top_up_free(
        self, session: AsyncSession, user_id: int, key: str, now: datetime
    ) -> tuple[int, int]:
        """Free credits do not roll over: top the balance up to the monthly amount."""
        self.ledger.forget_cached(session, user_id)
        balance = await self.ledger.balance(session, user_id)
        missing = self.catalog.plan_limits(FREE).monthly_credits - balance
        if missing <= 0:
            return 0, balance
        result = await self.ledger.grant(
            session, user_id, missing, "free_credits", None, key, add_to_period=True, now=now
        )
        return (0 if result.replayed else result.amount), result.balance

    async def activate_plan(
        self,
        session: AsyncSession,
        user_id: int,
        plan: str,
        *,
        expires_at: datetime | None,
        credits: int,
        idempotency_key: str,
        ref: str,
        subscription_charge_id: str | None = None,
        now: datetime | None = None,
    ) -> datetime:
        """Put the user on a paid plan until `expires_at` (default: a month after the current expiry of
        the same plan, or from now) and grant its monthly credits once per `idempotency_key`. A new period
        starts; a trial in progress ends. Returns the expiry."""
        now = now or utcnow()
        account = await self.ensure_account(session, user_id, now)
        if expires_at is None:
            base = now
            if account.plan == plan and account.trial_ends_at is None and account.plan_expires_at:
                base = max(now, account.plan_expires_at)
            expires_at = base + timedelta(days=30)
        values: dict[str, object] = {
            "plan": plan,
            "plan_expires_at": expires_at,
            "trial_ends_at": None,
            **self._new_period(now, expires_at),
        }
        if subscription_charge_id is not None:
            values["subscription_charge_id"] = subscription_charge_id
            values["subscription_canceled"] = False
        await session.execute(
            update(CreditAccount).where(CreditAccount.user_id == user_id).values(**values),
            execution_options={"synchronize_session": False},
        )
        self.ledger.forget_cached(session, user_id)
        if credits > 0:
            await self.ledger.grant(
                session, user_id, credits, "plan_credits", ref, idempotency_key, add_to_period=True, now=now
            )
        return expires_at

    async def end_plan(self, session: AsyncSession, user_id: int, now: datetime | None = None) -> None:
        """Back to Free at once (a refunded plan); a new Free period starts without new credits."""
        now = now or utcnow()
        await session.execute(
            update(CreditAccount)
            .where(CreditAccount.user_id == user_id)
            .values(
                plan=FREE,
                plan_expires_at=None,
                trial_ends_at=None,
                subscription_charge_id=None,
                subscription_canceled=False,
                **self._new_period(now, add_month(now)),
            ),
            execution_options={"synchronize_session": False},
        )
        self.ledger.forget_cached(session, user_id)

    async def shorten_plan(self, session: AsyncSession, user_id: int, until: datetime) -> None:
        """The plan now ends at `until` (a refunded renewal took its month back); the current period
        keeps its credits and ends then at the latest."""
        account = await self.ensure_account(session, user_id)
        period_end = min(account.period_end, until) if account.period_end else until
        await session.execute(
            update(CreditAccount)
            .where(CreditAccount.user_id == user_id)
            .values(plan_expires_at=until, period_end=period_end, updated_at=utcnow()),
            execution_options={"synchronize_session": False},
        )
        self.ledger.forget_cached(session, user_id)

    # --- referrals ----------------------------------------------------------------------------------

    async def on_first_book_ready(
        self, session: AsyncSession, user_id: int, now: datetime | None = None
    ) -> ReferralBonus | None:
        """A book of `user_id` became ready: if they were invited, both sides get the referral bonus,
        once per invited user (call it for every ready book; only the first pays). Does not commit."""
        bonus = self.settings.billing_referral_bonus
        user = await session.get(User, user_id)
        if bonus <= 0 or user is None or user.referrer_id is None or user.referrer_id == user_id:
            return None
        if await session.get(User, user.referrer_id) is None:
            return None
        now = now or utcnow()
        await self.ensure_account(session, user_id, now)
        await self.ensure_account(session, user.referrer_id, now)
        invitee = await self.ledger.grant(
            session, user_id, bonus, "referral", f"invited_by:{user.referrer_id}", f"referral:{user_id}:invitee",
            add_to_period=True, now=now,
        )  # fmt: skip
        await self.ledger.grant(
            session, user.referrer_id, bonus, "referral", f"invited:{user_id}", f"referral:{user_id}:referrer",
            add_to_period=True, now=now,
        )  # fmt: skip
        return ReferralBonus(user.referrer_id, user_id, bonus, granted=not invitee.replayed)
