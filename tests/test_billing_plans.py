"""Plans, prices, the trial, renewals, the 80% warning, zero balance and referrals (both databases)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import User
from db.models.billing import CreditAccount, LedgerEntry
from services.billing.factory import build_billing
from services.billing.plans import FREE, PRO, SCHOLAR
from services.billing.service import BillingService, ChargeOutcome, add_month
from services.llm import LLMUsage

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def billing(make_settings) -> BillingService:  # type: ignore[no-untyped-def]
    return build_billing(
        make_settings(
            billing_free_monthly_credits=100,
            billing_trial_days=7,
            billing_trial_credits=300,
            billing_referral_bonus=50,
            billing_free_questions_per_day=3,
            gemini_api_key="k",
        )
    )


async def _user(session: AsyncSession, user_id: int, referrer: int | None = None) -> User:
    user = User(id=user_id, first_name=f"U{user_id}", language="en", settings={}, referrer_id=referrer)
    session.add(user)
    await session.flush()
    return user


async def _consistent(billing: BillingService, session: AsyncSession, user_id: int) -> int:
    balance = await billing.ledger.balance(session, user_id)
    assert balance == await billing.ledger.total(session, user_id), "the ledger sums to the balance"
    assert balance >= 0
    return balance


def test_plan_limits_grow_with_the_plan(billing: BillingService) -> None:
    free, pro, scholar = (billing.catalog.plan_limits(p) for p in (FREE, PRO, SCHOLAR))
    assert free.max_books < pro.max_books < scholar.max_books
    assert free.questions_per_day < pro.questions_per_day < scholar.questions_per_day
    assert free.max_file_mb <= pro.max_file_mb <= scholar.max_file_mb
    assert scholar.model_for("gemini") == "gemini-2.5-pro" and free.model_for("gemini") is None
    assert free.allows_another_book(free.max_books - 1) and not free.allows_another_book(free.max_books)
    assert not free.allows_file(free.max_file_bytes + 1)
    assert billing.catalog.product("plan_pro") is not None and billing.catalog.packs


def test_prices_come_from_token_usage(billing: BillingService) -> None:
    flash = LLMUsage("gemini", "gemini-2.5-flash", input_tokens=4000, output_tokens=800, cost_usd=0.0)
    # 4000 * 300 + 800 * 2500 = 3.2M micro-credits -> 4 credits (rounded up)
    assert billing.quote_answer(flash) == 4
    assert billing.quote_answer(LLMUsage("gemini", "gemini-2.5-flash", 10, 10, 0.0)) == 1, (
        "at least the minimum"
    )
    versioned = LLMUsage("openai", "gpt-4o-mini-2024-07-18", 1_000_000, 0, 0.0)
    assert billing.quote_answer(versioned) == 150, "a dated model is priced as its family"
    assert billing.quote_answer([flash, flash]) == 7
    assert billing.quote_answer(None) == 0, "extractive answers are free by default"
    assert billing.quote_answer(flash, cached=True) == 0
    assert billing.quote_ingestion(1) == billing.quote_ingestion(100) == 2
    assert billing.quote_ingestion(101) == 4
    assert billing.quote_summary() == 20 and billing.needs_confirmation(billing.quote_summary())


async def test_new_account_gets_free_credits_and_the_trial_only_once(
    billing: BillingService, session: AsyncSession
) -> None:
    account = await billing.ensure_account(session, 1, NOW)
    assert account.plan == FREE and account.balance == 100
    trial = await billing.start_trial(session, 1, NOW)
    assert trial is not None and trial.ends_at == NOW + timedelta(days=7)
    await session.commit()
    assert await billing.start_trial(session, 1, NOW + timedelta(days=1)) is None
    summary = await billing.summary(session, 1, NOW)
    assert summary.plan == PRO and summary.on_trial and summary.balance == 400
    assert summary.period_credits == 400
    await _consistent(billing, session, 1)

    # A day before the end, the jobs feature asks who to remind.
    ending = await billing.trials_ending_within(session, NOW + timedelta(days=6, hours=1), timedelta(days=1))
    assert [t.user_id for t in ending] == [1]
    assert await billing.expire_trials(session, NOW + timedelta(days=6)) == []
    ended = await billing.expire_trials(session, NOW + timedelta(days=7, minutes=1))
    assert [(r.user_id, r.kind) for r in ended] == [(1, "trial_ended")]
    assert await billing.expire_trials(session, NOW + timedelta(days=7, minutes=2)) == [], "idempotent"
    summary = await billing.summary(session, 1, NOW + timedelta(days=8))
    assert summary.plan == FREE and not summary.on_trial and summary.balance == 400, (
        "unspent trial credits stay"
    )
    assert await billing.start_trial(session, 1, NOW + timedelta(days=9)) is None, (
        "a trial is once per user ever"
    )


async def test_free_credits_renew_monthly_without_rollover_idempotently(
    billing: BillingService, session: AsyncSession
) -> None:
    await billing.ensure_account(session, 2, NOW)
    await session.commit()
    outcome = await billing.charge_for_summary(session, 2, book_id=1, ref="s1", credits=70, now=NOW)
    assert outcome.ok and outcome.balance == 30
    await session.commit()
    assert await billing.renew_due(session, NOW + timedelta(days=20)) == []
    later = add_month(NOW) + timedelta(hours=1)
    renewed = await billing.renew_due(session, later)
    assert [(r.user_id, r.kind, r.credits) for r in renewed] == [(2, "renewed", 70)]
    assert await billing.renew_due(session, later) == [], "a second run in the same period changes nothing"
    assert await billing.renew_due(session, later + timedelta(days=1)) == []
    account = await session.get(CreditAccount, 2, populate_existing=True)
    assert account is not None
    assert account.balance == 100 and account.period_used == 0 and account.period_start == add_month(NOW)
    assert account.period_end == add_month(NOW, 2)
    await _consistent(billing, session, 2)


async def test_paid_plan_lapses_back_to_free_after_grace(
    billing: BillingService, session: AsyncSession
) -> None:
    await billing.ensure_account(session, 3, NOW)
    expires = await billing.activate_plan(
        session, 3, PRO, expires_at=None, credits=1500, idempotency_key="pay:test:1", ref="order:1", now=NOW
    )
    await session.commit()
    assert expires == NOW + timedelta(days=30)
    assert (await billing.limits(session, 3)).plan == PRO
    assert await billing.renew_due(session, expires + timedelta(hours=1)) == [], (
        "still within the grace period"
    )
    done = await billing.renew_due(session, expires + timedelta(hours=25))
    assert [(r.user_id, r.kind) for r in done] == [(3, "downgraded")]
    assert await billing.renew_due(session, expires + timedelta(hours=26)) == []
    assert (await billing.limits(session, 3)).plan == FREE
    assert await _consistent(billing, session, 3) == 1600, "bought credits are kept"


async def test_warning_at_80_percent_exactly_once(billing: BillingService, session: AsyncSession) -> None:
    await billing.ensure_account(session, 4, NOW)  # 100 credits this period
    warnings = []
    for n in range(9):
        outcome = await billing.charge_for_summary(session, 4, book_id=n, ref=f"w{n}", credits=10, now=NOW)
        assert outcome.ok
        warnings.append(outcome.warn_low)
    await session.commit()
    assert warnings == [False] * 7 + [True, False], "one warning, when 80 of 100 credits are used"
    # A repeat of a charge already made is not a new warning either.
    again = await billing.charge_for_summary(session, 4, book_id=7, ref="w7", credits=10, now=NOW)
    assert again.replayed and not again.warn_low
    # The next period may warn again.
    await billing.renew_due(session, add_month(NOW) + timedelta(minutes=1))
    outcome = await billing.charge_for_summary(
        session, 4, book_id=99, ref="next", credits=85, now=add_month(NOW)
    )
    assert outcome.warn_low


async def test_zero_balance_refuses_and_charges_nothing(
    billing: BillingService, session: AsyncSession
) -> None:
    await billing.ensure_account(session, 5, NOW)
    assert (await billing.charge_for_summary(session, 5, book_id=1, ref="all", credits=100, now=NOW)).depleted
    await session.commit()
    check = await billing.check_can_afford(session, 5, "question", now=NOW)
    assert not check.ok and check.reason == "no_credits" and check.cost == 1 and check.balance == 0
    refused = await billing.charge_for_summary(session, 5, book_id=2, ref="more", now=NOW)
    assert not refused.ok and refused.credits == 0
    entries = (await session.scalars(select(LedgerEntry).where(LedgerEntry.user_id == 5))).all()
    assert [e.reason for e in entries] == ["free_credits", "summary"], "nothing recorded for the refusal"
    assert await _consistent(billing, session, 5) == 0


async def _answer(
    billing: BillingService, session: AsyncSession, user_id: int, usage: object, **settle: bool
) -> ChargeOutcome:
    """One answer as the chat makes it: hold, then settle in the transaction that records it."""
    hold = await billing.hold_answer(
        session, user_id, uuid.uuid4().hex, input_tokens=3000, output_tokens=900, now=NOW
    )
    assert hold.ok, hold.refusal
    outcome = await billing.settle_answer(session, user_id, hold, usage, now=NOW, **settle)  # type: ignore[arg-type]
    await session.commit()
    return outcome


async def test_answers_cost_tokens_free_when_cached_or_failed_and_count_per_day(
    billing: BillingService, session: AsyncSession
) -> None:
    usage = LLMUsage("gemini", "gemini-2.5-flash", input_tokens=4000, output_tokens=800, cost_usd=0.0)
    charged = await _answer(billing, session, 6, usage)
    assert charged.ok and charged.credits == 4 and charged.balance == 96
    cached = await _answer(billing, session, 6, usage, cached=True)
    failed = await _answer(billing, session, 6, usage, answered=False)
    assert cached.credits == 0 and failed.credits == 0
    assert (await billing.check_can_afford(session, 6, "question", now=NOW)).ok
    await _answer(billing, session, 6, None)  # extractive: free, still a question
    refused = await billing.hold_answer(session, 6, "q-last", now=NOW)
    assert not refused.ok and refused.refusal.reason == "daily_limit", (
        "3 questions a day on Free (failed ones don't count)"
    )
    assert (await billing.check_can_afford(session, 6, "question", now=NOW)).reason == "daily_limit"
    assert (await billing.check_can_afford(session, 6, "question", now=NOW + timedelta(days=1))).ok
    assert await _consistent(billing, session, 6) == 96


async def test_an_answer_dearer_than_the_balance_takes_what_is_left(
    billing: BillingService, session: AsyncSession
) -> None:
    await billing.ensure_account(session, 7, NOW)
    big = LLMUsage("gemini", "gemini-2.5-pro", input_tokens=100_000, output_tokens=20_000, cost_usd=0.0)
    assert billing.quote_answer(big) > 100
    outcome = await _answer(billing, session, 7, big)
    assert outcome.ok and outcome.credits == 100 and outcome.balance == 0 and outcome.depleted
    assert await _consistent(billing, session, 7) == 0


async def test_ingestion_limits_and_refund_of_a_failed_book(
    billing: BillingService, session: AsyncSession
) -> None:
    check = await billing.check_can_afford(session, 8, "ingestion", pages=250, books_now=3, now=NOW)
    assert not check.ok and check.reason == "books_limit"
    big = await billing.check_can_afford(
        session, 8, "ingestion", pages=10, file_size=11 * 1024 * 1024, now=NOW
    )
    assert big.reason == "file_too_large"
    charged = await billing.charge_for_ingestion(session, 8, 250, book_id=42, now=NOW)
    assert charged.ok and charged.credits == 6 and charged.balance == 94
    assert (await billing.charge_for_ingestion(session, 8, 250, book_id=42, now=NOW)).replayed
    assert await billing.refund_ingestion(session, 8, 42) == 6
    assert await billing.refund_ingestion(session, 8, 42) == 0, "refunded once"
    retried = await billing.charge_for_ingestion(session, 8, 250, book_id=42, now=NOW)
    assert retried.ok and not retried.replayed, "a retry after a refund is charged again"
    await session.commit()
    assert await _consistent(billing, session, 8) == 94


async def test_referral_bonus_once_per_invited_user(billing: BillingService, session: AsyncSession) -> None:
    await _user(session, 10)
    await _user(session, 11, referrer=10)
    await _user(session, 12)
    first = await billing.on_first_book_ready(session, 11, NOW)
    assert first is not None and first.granted and first.referrer_id == 10 and first.bonus == 50
    second = await billing.on_first_book_ready(session, 11, NOW)
    assert second is not None and not second.granted
    assert await billing.on_first_book_ready(session, 12, NOW) is None, "not invited"
    await session.commit()
    assert await _consistent(billing, session, 10) == 150
    assert await _consistent(billing, session, 11) == 150
    members = await billing.plan_members(session, FREE)
    assert {10, 11, 12} <= members


async def test_a_refunded_second_month_leaves_the_first_paid_month(
    billing: BillingService, session: AsyncSession
) -> None:
    await _user(session, 11)
    await billing.ensure_account(session, 11, NOW)
    product = billing.catalog.product(f"plan_{PRO}")
    assert product is not None and billing.orders is not None
    months = []
    for n, paid_at in enumerate((NOW, NOW + timedelta(days=1))):
        order = await billing.orders.create(session, 11, product, "yookassa", now=paid_at)
        months.append(
            await billing.orders.fulfil(
                session,
                order,
                charge_id=f"card-{n}",
                amount=order.amount,
                currency=order.currency,
                now=paid_at,
            )
        )
        await session.commit()
    assert months[1].plan_expires_at == NOW + timedelta(days=60), "the second month follows the first"

    later = NOW + timedelta(days=2)
    outcome = await billing.orders.record_refund(session, "yookassa", "card-1", now=later)
    await session.commit()
    assert outcome.status == "refunded" and not outcome.plan_ended
    assert outcome.credits_taken == product.credits
    summary = await billing.summary(session, 11)
    assert summary.plan == PRO and summary.plan_expires_at == NOW + timedelta(days=30), summary

    # At the end of the first month (and its grace) the plan lapses as any unpaid plan does.
    done = await billing.renew_due(session, NOW + timedelta(days=31, hours=1))
    assert [(r.user_id, r.kind) for r in done] == [(11, "downgraded")]

    # Refunding the only month left ends the plan at once.
    again = NOW + timedelta(days=32)
    await billing.activate_plan(
        session, 11, PRO, expires_at=None, credits=0, idempotency_key="k", ref="r", now=again
    )
    await session.commit()
    ended = await billing.orders.record_refund(session, "yookassa", "card-0", now=again)
    await session.commit()
    assert ended.plan_ended and (await billing.summary(session, 11)).plan == FREE
