"""Monthly renewal and trial expiry through billing's own functions: balances change exactly once, even
when the job runs twice (same period, two processes, or the function itself called again)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from db.models import CreditAccount, LedgerEntry
from services.billing.service import BillingService
from services.jobs.tasks import BillingHooks, renewals, trials
from tests.support_notifications import add_user, clock_at, make_job_env

START = datetime(2025, 3, 1, 12, tzinfo=UTC)


def hooks(billing: BillingService) -> BillingHooks:
    return BillingHooks(
        renew_due=billing.renew_due,
        expire_trials=billing.expire_trials,
        trials_ending_within=billing.trials_ending_within,
    )


async def _balance_and_entries(
    session_factory: async_sessionmaker[AsyncSession], user_id: int
) -> tuple[int, int]:
    async with session_factory() as session:
        balance = await session.scalar(select(CreditAccount.balance).where(CreditAccount.user_id == user_id))
        entries = await session.scalar(
            select(func.count(LedgerEntry.id)).where(LedgerEntry.user_id == user_id)
        )
    return int(balance or 0), int(entries or 0)


async def test_monthly_renewal_changes_the_balance_once(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    billing = BillingService(settings, session_factory=session_factory)
    await add_user(session_factory, 1, created_at=START)
    async with session_factory() as session:
        await billing.ensure_account(session, 1, START)
        # The user spent most of the month's credits.
        await session.execute(update(CreditAccount).where(CreditAccount.user_id == 1).values(balance=5))
        await session.commit()
    before = await _balance_and_entries(session_factory, 1)

    clock = clock_at(2025, 4, 1, 13, 5)  # the period (a month from START) is over
    env = make_job_env(session_factory, settings, clock, billing=hooks(billing))
    first = await env.runner.run("renewals")
    second = await env.runner.run("renewals")  # the trigger fired twice
    assert first.ran and first.result == {"renewed": 1}
    assert not second.ran
    after = await _balance_and_entries(session_factory, 1)
    assert after[0] == settings.billing_free_monthly_credits
    assert after[1] == before[1] + 1

    # A second process calling the job function directly for the same moment changes nothing.
    assert await renewals(env.context, clock.now()) == {"renewed": 0}
    clock.set(clock.now() + timedelta(hours=1))
    await env.runner.run("renewals")
    assert await _balance_and_entries(session_factory, 1) == after


async def test_trial_notice_a_day_before_then_downgrade_once(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    billing = BillingService(settings, session_factory=session_factory)
    await add_user(session_factory, 2, created_at=START, last_seen_at=START)
    async with session_factory() as session:
        await billing.ensure_account(session, 2, START)
        started = await billing.start_trial(session, 2, START)
        await session.commit()
    assert started is not None
    ends = started.ends_at

    clock = clock_at(2025, 3, 1, 12)
    env = make_job_env(session_factory, settings, clock, billing=hooks(billing))
    clock.set(ends - timedelta(hours=30))
    await env.runner.run("trials")
    assert env.tg.to(2) == [], "more than a day left: no notice yet"

    clock.set(ends - timedelta(hours=20))
    await env.runner.run("trials")
    clock.set(ends - timedelta(hours=19))
    await env.runner.run("trials")
    notices = [c for c in env.tg.to(2) if "ends tomorrow" in (c.text or "")]
    assert len(notices) == 1

    balance_on_trial = (await _balance_and_entries(session_factory, 2))[0]
    assert balance_on_trial >= settings.billing_trial_credits
    clock.set(ends + timedelta(minutes=30))
    await env.runner.run("trials")
    again = await trials(env.context, clock.now())  # run twice in the same period
    clock.set(ends + timedelta(hours=2))
    await env.runner.run("trials")
    assert again == {"notified": 0, "ended": 0}
    async with session_factory() as session:
        account = await session.get(CreditAccount, 2)
        assert account is not None and account.plan == "free" and account.trial_ends_at is None
    ended = [c for c in env.tg.to(2) if "trial has ended" in (c.text or "")]
    assert len(ended) == 1
    balance, _ = await _balance_and_entries(session_factory, 2)
    async with session_factory() as session:
        trial_end_entries = await session.scalar(
            select(func.count(LedgerEntry.id)).where(
                LedgerEntry.user_id == 2, LedgerEntry.idempotency_key.like("trial-end:%")
            )
        )
    assert int(trial_end_entries or 0) <= 1
    assert balance >= 0
