"""The scheduled jobs. Each takes the job context and `now` (from the injected clock) and is safe to run
twice: per-user messages are claimed per period in `deliveries`, billing's functions are idempotent by
their own records, clean-up deletes what is past retention.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import AnswerCacheEntry, Book, User
from db.repositories import notifications as repo
from locales.i18n import I18n
from services.analytics.events import delete_events_before
from services.analytics.metrics import Metrics
from services.config import ServiceSettings
from services.engagement.leaderboard import refresh as refresh_leaderboard
from services.jobs.clock import Clock
from services.jobs.runner import Cadence, JobSpec, RetryLater
from services.notifications import preferences
from services.notifications.alerts import AdminAlerts
from services.notifications.content import build_digest, pick_quote, recent_quote_keys
from services.notifications.notifier import Notifier
from services.notifications.preferences import Kind
from services.notifications.report import render_report

logger = logging.getLogger(__name__)

# A user whose hour was missed (downtime, a slow run) still gets the day's quote this many hours later.
GRACE_HOURS = 3
DIGEST_WEEKDAY = 6  # Sunday, in the user's time zone
REENGAGE_AFTER = (7, 30)  # days away; each sent once per spell of inactivity
CONCURRENCY = 8

SessionFn = Callable[[AsyncSession, datetime], Awaitable[Any]]


@dataclass
class BillingHooks:
    """Billing's scheduled functions (wired in install; None until billing provides them)."""

    renew_due: SessionFn | None = None
    expire_trials: SessionFn | None = None
    # (session, now, within) -> accounts (or user ids) whose trial ends within `within`
    trials_ending_within: Callable[[AsyncSession, datetime, timedelta], Awaitable[Iterable[Any]]] | None = (
        None
    )
    recheck_pending: Callable[..., Awaitable[Any]] | None = None


@dataclass
class JobContext:
    settings: ServiceSettings
    session_factory: async_sessionmaker[AsyncSession]
    clock: Clock
    i18n: I18n
    notifier: Notifier
    metrics: Metrics
    alerts: AdminAlerts | None = None
    billing: BillingHooks = field(default_factory=BillingHooks)
    # More clean-up steps from other features: (session, now) -> rows deleted.
    cleanups: dict[str, SessionFn] = field(default_factory=dict)


# --- daily quote, weekly digest, re-engagement ----------------------------------------------------


def in_window(local_hour: int, hour: int) -> bool:
    return hour <= local_hour < min(24, hour + GRACE_HOURS)


async def user_messages(ctx: JobContext, now: datetime) -> dict[str, Any]:
    """Hourly: each user whose chosen local hour it is gets today's quote, Sunday's digest, and a reminder
    after 7 or 30 days away, each once per period (a missed hour catches up within GRACE_HOURS)."""
    away = now - timedelta(days=min(REENGAGE_AFTER))
    has_books = exists().where(Book.user_id == User.id, Book.status == "ready")
    async with ctx.session_factory() as session:
        users = (
            await session.scalars(
                select(User)
                .where(
                    User.blocked_bot.is_(False),
                    User.banned.is_(False),
                    or_(has_books, User.last_seen_at < away),
                )
                .order_by(User.id)
            )
        ).all()
        with_books = set(
            (await session.scalars(select(Book.user_id).where(Book.status == "ready").distinct())).all()
        )
    counts: dict[str, int] = {"quote": 0, "digest": 0, "reengage": 0}
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(user: User) -> None:
        async with limit:
            for kind in await _messages_for(ctx, user, now, user.id in with_books):
                counts[kind] += 1

    await asyncio.gather(*(one(user) for user in users))
    return counts


async def _messages_for(ctx: JobContext, user: User, now: datetime, has_books: bool) -> list[str]:
    local = preferences.local_time(user, now)
    if not in_window(local.hour, preferences.hour_of(user)):
        return []
    sent: list[str] = []
    day = local.date().isoformat()
    if has_books and preferences.is_enabled(user, Kind.QUOTE):
        async with ctx.session_factory() as session:
            passage = await pick_quote(session, user.id, day, await recent_quote_keys(session, user.id))
        if passage is not None:
            result = await ctx.notifier.daily_quote(
                user.id, passage, campaign=f"quote:{day}", locale=user.language
            )
            if result is not None and result.ok:
                sent.append("quote")
    if has_books and local.weekday() == DIGEST_WEEKDAY and preferences.is_enabled(user, Kind.DIGEST):
        year, week, _ = local.isocalendar()
        campaign = f"digest:{year}-W{week:02d}"
        async with ctx.session_factory() as session:
            digest = await build_digest(session, user.id, now - timedelta(days=7), now, campaign)
        if not digest.empty:
            result = await ctx.notifier.weekly_digest(
                user.id, digest, campaign=campaign, locale=user.language
            )
            if result is not None and result.ok:
                sent.append("digest")
    idle = now - user.last_seen_at
    for days in sorted(REENGAGE_AFTER, reverse=True):
        if idle >= timedelta(days=days):
            # One reminder per spell: the spell is named by when it began (the last time we saw them).
            spell = user.last_seen_at.strftime("%Y%m%d%H%M%S")
            result = await ctx.notifier.reengage(
                user.id, days=days, campaign=f"reengage{days}:{spell}", has_books=has_books
            )
            if result is not None and result.ok:
                sent.append("reengage")
            break
    return sent


# --- billing ----------------------------------------------------------------------------------------


def user_id_of(item: Any) -> int:
    if isinstance(item, int):
        return item
    if isinstance(item, tuple | list):
        return int(item[0])
    return int(item.user_id)


async def renewals(ctx: JobContext, now: datetime) -> dict[str, Any]:
    """Monthly plan credits: billing renews every account whose period is over (idempotent per period)."""
    if ctx.billing.renew_due is None:
        return {"skipped": "billing not wired"}
    done = await _drain(ctx, ctx.billing.renew_due, now)
    return {"renewed": len(done)}


async def trials(ctx: JobContext, now: datetime) -> dict[str, Any]:
    """A notice a day before a trial ends, then the downgrade (billing's functions) and a notice of it."""
    notified = ended = 0
    if ctx.billing.trials_ending_within is not None:
        async with ctx.session_factory() as session:
            ending = list(await ctx.billing.trials_ending_within(session, now, timedelta(days=1)))
        for item in ending:
            ends_at = (
                getattr(item, "ends_at", None)
                or getattr(item, "trial_ends_at", None)
                or now + timedelta(days=1)
            )
            result = await ctx.notifier.trial_ending(user_id_of(item), ends_at=ends_at)
            notified += int(result is not None and result.ok)
    if ctx.billing.expire_trials is not None:
        for item in await _drain(ctx, ctx.billing.expire_trials, now):
            result = await ctx.notifier.trial_ended(user_id_of(item), ended_at=now)
            ended += int(result is not None and result.ok)
    return {"notified": notified, "ended": ended}


async def pending_payments(ctx: JobContext, now: datetime) -> dict[str, Any]:
    """Payments that never reported back (a lost webhook): ask the provider again."""
    if ctx.billing.recheck_pending is None:
        return {"skipped": "billing not wired"}
    result = await ctx.billing.recheck_pending(now)
    return {"checked": _count(result)}


# --- admins and housekeeping --------------------------------------------------------------------------


def report_day(now: datetime, hour: int) -> date:
    """The day a report run covers: the whole UTC day before the report's hour that `now` belongs to (the
    09:00 report of 2 March, sent then or retried later that day, covers 1 March)."""
    return (now.astimezone(UTC) - timedelta(hours=hour)).date() - timedelta(days=1)


async def admin_report(ctx: JobContext, now: datetime) -> dict[str, Any]:
    """The day before and the 30 days up to its end, in one message to the admins. Done once it reached
    an admin; while none could be reached (none has started the bot yet) the period stays open and the
    next hourly knock tries again. Without ADMIN_IDS or ADMIN_CHAT_ID there is nobody to send it to."""
    if ctx.alerts is None or not ctx.alerts.enabled:
        return {"skipped": "no admins"}
    day = report_day(now, ctx.settings.admin_report_hour)
    since = datetime.combine(day, time(0), tzinfo=UTC)
    until = since + timedelta(days=1)
    overview = await ctx.metrics.overview(until, since=since)
    features = await ctx.metrics.features(since, until, limit=5)
    costs = await ctx.metrics.llm_cost(since, until)
    texts = {
        locale: render_report(ctx.i18n, locale, day, overview, features, costs) for locale in ctx.i18n.bundles
    }
    sent = await ctx.alerts.send_now(texts)
    if not sent:
        raise RetryLater(f"the report of {day} reached no admin (has any started the bot?)")
    return {"day": day.isoformat(), "sent": sent}


async def cleanup(ctx: JobContext, now: datetime) -> dict[str, Any]:
    """Delete what is past retention: analytics events, per-period delivery records, job runs, old cached
    answers, and whatever other features registered."""
    s = ctx.settings
    deleted: dict[str, Any] = {}
    async with ctx.session_factory() as session:
        deleted["events"] = await delete_events_before(session, now - timedelta(days=s.events_retention_days))
        deleted["deliveries"] = await repo.delete_deliveries_before(
            session, now - timedelta(days=s.deliveries_retention_days), keep_prefix="broadcast:"
        )
        deleted["job_runs"] = await repo.delete_job_runs_before(
            session, now - timedelta(days=s.job_runs_retention_days)
        )
        result = await session.execute(
            delete(AnswerCacheEntry).where(
                AnswerCacheEntry.created_at < now - timedelta(days=s.cache_retention_days)
            )
        )
        deleted["answer_cache"] = int(result.rowcount or 0)  # type: ignore[attr-defined]
        for name, step in ctx.cleanups.items():
            deleted[name] = _count(await step(session, now))
        await session.commit()
    return deleted


async def _drain(ctx: JobContext, step: SessionFn, now: datetime, rounds: int = 1000) -> list[Any]:
    """Call a batched billing function until it has nothing left (it handles up to a batch per call)."""
    done: list[Any] = []
    for _ in range(rounds):
        async with ctx.session_factory() as session:
            result = await step(session, now)
            await session.commit()
        items = list(result) if isinstance(result, Iterable) else []
        if not items:
            break
        done.extend(items)
    return done


def _count(result: Any) -> int:
    if result is None:
        return 0
    if isinstance(result, bool):
        return int(result)
    if isinstance(result, int):
        return result
    try:
        return len(result)
    except TypeError:
        return 1


async def leaderboard(ctx: JobContext, now: datetime) -> dict[str, Any]:
    """Hourly: recount and rank the readers who chose to be on the leaderboard."""
    async with ctx.session_factory() as session:
        return await refresh_leaderboard(session, now)


def job_specs(settings: ServiceSettings) -> list[JobSpec]:
    """Every scheduled job and its cadence (UTC)."""
    return [
        JobSpec("user_messages", user_messages, Cadence(minutes=60, offset=0)),
        JobSpec("renewals", renewals, Cadence(minutes=60, offset=5)),
        JobSpec("trials", trials, Cadence(minutes=60, offset=10)),
        JobSpec("pending_payments", pending_payments, Cadence(minutes=10, offset=3)),
        JobSpec("admin_report", admin_report, Cadence(daily_hour=settings.admin_report_hour, offset=0)),
        JobSpec("cleanup", cleanup, Cadence(daily_hour=3, offset=30)),
        JobSpec("leaderboard", leaderboard, Cadence(minutes=60, offset=20)),
    ]
