"""Business numbers with typed results, for the daily admin report and the admin screens.

Sources: `users` (sign-ups), `events` (activity), `books`, `chat_turns` (questions), `llm_usage` (cost),
`payments` (revenue; Stars are `XTR`, rubles are kept in kopecks) and `credit_accounts` (plans).
Days and weeks are UTC; a week starts on Monday. Every method takes `now`, so tests pin the answers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Book, ChatTurn, CreditAccount, Event, LLMUsageRecord, Payment, User
from services.billing.plans import PAID_PLANS

STARS = "XTR"
RUB = "RUB"


@dataclass(frozen=True, slots=True)
class ActiveUsers:
    dau: int
    wau: int
    mau: int


@dataclass(frozen=True, slots=True)
class Cohort:
    """Users who signed up in the week starting `week_start`; `retained[k]` is the share of them active
    in the k-th week after (k = 1 is the week after sign-up), only for weeks that have begun."""

    week_start: date
    size: int
    retained: list[float]


@dataclass(frozen=True, slots=True)
class BookPopularity:
    title: str
    questions: int
    users: int


@dataclass(frozen=True, slots=True)
class FeatureUse:
    feature: str  # an event kind: "command.start", "callback.lang", "message.document", ...
    count: int
    users: int


@dataclass(frozen=True, slots=True)
class LLMCost:
    provider: str
    model: str
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float


@dataclass(frozen=True, slots=True)
class Revenue:
    """Money in a window: paid minus refunded, per currency. Rubles, not kopecks."""

    stars: int
    rub: float
    payments: int
    refunds: int
    refunded_stars: int
    refunded_rub: float


@dataclass(frozen=True, slots=True)
class Recurring:
    """MRR: each paid plan that is on now and not canceled (no trial), once, at the price of its latest
    payment (a renewal is not a second subscription); subscribers: those plans. Churn: the share of the
    previous 30 days' plan payers who did not pay for a plan in the last 30."""

    mrr_stars: int
    mrr_rub: float
    subscribers: int
    previous_subscribers: int
    churned: int

    @property
    def churn_rate(self) -> float:
        return self.churned / self.previous_subscribers if self.previous_subscribers else 0.0


@dataclass(frozen=True, slots=True)
class DayPoint:
    day: date
    new_users: int
    active_users: int
    questions: int
    stars: int
    rub: float
    total_users: int


@dataclass(frozen=True, slots=True)
class Overview:
    """The admin overview screen and the daily report."""

    now: datetime
    users_total: int
    users_new_today: int
    users_new_7d: int
    users_new_30d: int
    active: ActiveUsers
    blocked: int
    books_ready: int
    books_failed: int
    pages_indexed: int
    questions_today: int
    questions_30d: int
    revenue_today: Revenue
    revenue_30d: Revenue
    llm_cost_today_usd: float
    llm_cost_30d_usd: float
    recurring: Recurring
    extra: dict[str, Any] = field(default_factory=dict)


def day_start(moment: datetime) -> datetime:
    return datetime.combine(moment.astimezone(UTC).date(), time(0), tzinfo=UTC)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


class Metrics:
    """Reads; never writes. Each method opens its own session."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory

    async def active_users(self, now: datetime) -> ActiveUsers:
        async with self.session_factory() as session:
            return ActiveUsers(
                dau=await _active_between(session, now - timedelta(days=1), now),
                wau=await _active_between(session, now - timedelta(days=7), now),
                mau=await _active_between(session, now - timedelta(days=30), now),
            )

    async def retention(self, now: datetime, weeks: int = 8) -> list[Cohort]:
        """Cohorts of the last `weeks` signup weeks, oldest first."""
        this_week = week_start(now.astimezone(UTC).date())
        first = this_week - timedelta(weeks=weeks - 1)
        since = datetime.combine(first, time(0), tzinfo=UTC)
        async with self.session_factory() as session:
            signups = (
                await session.execute(select(User.id, User.created_at).where(User.created_at >= since))
            ).all()
            activity = (
                await session.execute(
                    select(Event.user_id, Event.created_at).where(
                        Event.created_at >= since, Event.user_id.is_not(None)
                    )
                )
            ).all()
        cohort_of = {int(uid): week_start(created.astimezone(UTC).date()) for uid, created in signups}
        active_weeks: dict[int, set[date]] = defaultdict(set)
        for uid, created in activity:
            if uid in cohort_of:
                active_weeks[int(uid)].add(week_start(created.astimezone(UTC).date()))
        members: dict[date, list[int]] = defaultdict(list)
        for uid, week in cohort_of.items():
            members[week].append(uid)
        cohorts = []
        for index in range(weeks):
            week = first + timedelta(weeks=index)
            ids = members.get(week, [])
            retained = []
            for k in range(1, weeks - index):
                later = week + timedelta(weeks=k)
                kept = sum(1 for uid in ids if later in active_weeks[uid])
                retained.append(kept / len(ids) if ids else 0.0)
            cohorts.append(Cohort(week, len(ids), retained))
        return cohorts

    async def popular_books(self, since: datetime, until: datetime, limit: int = 10) -> list[BookPopularity]:
        """Titles asked about most (all users' copies of a title together)."""
        title = func.coalesce(Book.title, Book.file_name)
        async with self.session_factory() as session:
            rows = (
                await session.execute(
                    select(title, func.count(ChatTurn.id), func.count(distinct(ChatTurn.user_id)))
                    .join(Book, Book.id == ChatTurn.book_id)
                    .where(ChatTurn.created_at >= since, ChatTurn.created_at < until)
                    .group_by(title)
                    .order_by(func.count(ChatTurn.id).desc(), title)
                    .limit(limit)
                )
            ).all()
        return [BookPopularity(str(t), int(q), int(u)) for t, q, u in rows]

    async def features(self, since: datetime, until: datetime, limit: int = 20) -> list[FeatureUse]:
        async with self.session_factory() as session:
            rows = (
                await session.execute(
                    select(Event.kind, func.count(Event.id), func.count(distinct(Event.user_id)))
                    .where(Event.created_at >= since, Event.created_at < until)
                    .group_by(Event.kind)
                    .order_by(func.count(Event.id).desc(), Event.kind)
                    .limit(limit)
                )
            ).all()
        return [FeatureUse(str(k), int(c), int(u)) for k, c, u in rows]

    async def llm_cost(self, since: datetime, until: datetime) -> list[LLMCost]:
        r = LLMUsageRecord
        async with self.session_factory() as session:
            rows = (
                await session.execute(
                    select(
                        r.provider,
                        r.model,
                        func.count(r.id),
                        func.coalesce(func.sum(r.input_tokens), 0),
                        func.coalesce(func.sum(r.output_tokens), 0),
                        func.coalesce(func.sum(r.cost_usd), 0.0),
                    )
                    .where(r.created_at >= since, r.created_at < until)
                    .group_by(r.provider, r.model)
                    .order_by(func.sum(r.cost_usd).desc(), r.provider, r.model)
                )
            ).all()
        return [
            LLMCost(str(p), str(m), int(c), int(i), int(o), round(float(cost), 6))
            for p, m, c, i, o, cost in rows
        ]

    async def revenue(self, since: datetime, until: datetime) -> Revenue:
        async with self.session_factory() as session:
            paid = (
                await session.execute(
                    select(
                        Payment.currency, func.count(Payment.id), func.coalesce(func.sum(Payment.amount), 0)
                    )
                    .where(Payment.created_at >= since, Payment.created_at < until)
                    .group_by(Payment.currency)
                )
            ).all()
            refunded = (
                await session.execute(
                    select(
                        Payment.currency, func.count(Payment.id), func.coalesce(func.sum(Payment.amount), 0)
                    )
                    .where(
                        Payment.status == "refunded",
                        Payment.refunded_at >= since,
                        Payment.refunded_at < until,
                    )
                    .group_by(Payment.currency)
                )
            ).all()
        paid_by = {str(c): (int(n), int(s)) for c, n, s in paid}
        refunded_by = {str(c): (int(n), int(s)) for c, n, s in refunded}
        stars_in, kopecks_in = paid_by.get(STARS, (0, 0))[1], paid_by.get(RUB, (0, 0))[1]
        stars_back, kopecks_back = refunded_by.get(STARS, (0, 0))[1], refunded_by.get(RUB, (0, 0))[1]
        return Revenue(
            stars=stars_in - stars_back,
            rub=(kopecks_in - kopecks_back) / 100,
            payments=sum(n for n, _ in paid_by.values()),
            refunds=sum(n for n, _ in refunded_by.values()),
            refunded_stars=stars_back,
            refunded_rub=kopecks_back / 100,
        )

    async def recurring(self, now: datetime) -> Recurring:
        period = timedelta(days=30)
        plan_paid = and_(Payment.plan.is_not(None), Payment.status == "paid")
        subscribed = and_(
            CreditAccount.user_id == Payment.user_id,
            CreditAccount.plan == Payment.plan,
            CreditAccount.plan.in_(PAID_PLANS),
            CreditAccount.plan_expires_at > now,
            CreditAccount.trial_ends_at.is_(None),
            CreditAccount.subscription_canceled.is_(False),
        )
        async with self.session_factory() as session:
            prices = (
                await session.execute(
                    select(Payment.user_id, Payment.currency, Payment.amount)
                    .join(CreditAccount, subscribed)
                    .where(plan_paid, Payment.created_at < now)
                    .order_by(Payment.created_at, Payment.id)
                )
            ).all()

            async def payers(since: datetime, until: datetime) -> set[int]:
                rows = await session.scalars(
                    select(Payment.user_id)
                    .where(plan_paid, Payment.created_at >= since, Payment.created_at < until)
                    .distinct()
                )
                return {int(uid) for uid in rows.all()}

            current = await payers(now - period, now)
            previous = await payers(now - 2 * period, now - period)
        latest = {int(uid): (currency, int(amount)) for uid, currency, amount in prices}  # the last one wins
        return Recurring(
            mrr_stars=sum(a for c, a in latest.values() if c == STARS),
            mrr_rub=sum(a for c, a in latest.values() if c == RUB) / 100,
            subscribers=len(latest),
            previous_subscribers=len(previous),
            churned=len(previous - current),
        )

    async def daily_series(self, now: datetime, days: int = 30) -> list[DayPoint]:
        """One point per UTC day, the last `days` days up to and including today (for the growth chart)."""
        today = now.astimezone(UTC).date()
        first = today - timedelta(days=days - 1)
        since = datetime.combine(first, time(0), tzinfo=UTC)
        until = datetime.combine(today + timedelta(days=1), time(0), tzinfo=UTC)
        new: dict[date, int] = defaultdict(int)
        active: dict[date, set[int]] = defaultdict(set)
        questions: dict[date, int] = defaultdict(int)
        stars: dict[date, int] = defaultdict(int)
        kopecks: dict[date, int] = defaultdict(int)
        async with self.session_factory() as session:
            before = int(
                await session.scalar(select(func.count(User.id)).where(User.created_at < since)) or 0
            )
            for (created,) in (
                await session.execute(
                    select(User.created_at).where(User.created_at >= since, User.created_at < until)
                )
            ).all():
                new[_day(created)] += 1
            # Distinct (user, day) pairs are few even when events are many.
            event_rows = await session.execute(
                select(Event.user_id, Event.created_at).where(
                    Event.created_at >= since, Event.created_at < until, Event.user_id.is_not(None)
                )
            )
            for uid, created in event_rows.all():
                if uid is not None:
                    active[_day(created)].add(int(uid))
            for (created,) in (
                await session.execute(
                    select(ChatTurn.created_at).where(
                        ChatTurn.created_at >= since, ChatTurn.created_at < until
                    )
                )
            ).all():
                questions[_day(created)] += 1
            payment_rows = await session.execute(
                select(Payment.created_at, Payment.currency, Payment.amount).where(
                    Payment.created_at >= since, Payment.created_at < until
                )
            )
            for created, currency, amount in payment_rows.all():
                if currency == STARS:
                    stars[_day(created)] += int(amount)
                elif currency == RUB:
                    kopecks[_day(created)] += int(amount)
        points = []
        total = before
        for index in range(days):
            day = first + timedelta(days=index)
            total += new[day]
            points.append(
                DayPoint(
                    day, new[day], len(active[day]), questions[day], stars[day], kopecks[day] / 100, total
                )
            )
        return points

    async def overview(self, now: datetime, since: datetime | None = None) -> Overview:
        """Everything as of `now`; "today" is from `since` (default: midnight UTC) to `now`. The daily
        report asks for a whole past day: since its midnight, as of the next midnight."""
        today = since or day_start(now)
        month_ago = now - timedelta(days=30)
        async with self.session_factory() as session:

            async def count(query: Any) -> int:
                return int(await session.scalar(query) or 0)

            def created(model: Any, start: datetime) -> Any:
                return and_(model.created_at >= start, model.created_at < now)

            users_total = await count(select(func.count(User.id)).where(User.created_at < now))
            new_today = await count(select(func.count(User.id)).where(created(User, today)))
            new_7d = await count(select(func.count(User.id)).where(created(User, now - timedelta(days=7))))
            new_30d = await count(select(func.count(User.id)).where(created(User, month_ago)))
            blocked = await count(select(func.count(User.id)).where(User.blocked_bot.is_(True)))
            books_ready = await count(select(func.count(Book.id)).where(Book.status == "ready"))
            books_failed = await count(select(func.count(Book.id)).where(Book.status == "failed"))
            pages = await count(select(func.coalesce(func.sum(Book.pages), 0)).where(Book.status == "ready"))
            q_today = await count(select(func.count(ChatTurn.id)).where(created(ChatTurn, today)))
            q_30d = await count(select(func.count(ChatTurn.id)).where(created(ChatTurn, month_ago)))
            cost_today = float(
                await session.scalar(
                    select(func.coalesce(func.sum(LLMUsageRecord.cost_usd), 0.0)).where(
                        created(LLMUsageRecord, today)
                    )
                )
                or 0.0
            )
            cost_30d = float(
                await session.scalar(
                    select(func.coalesce(func.sum(LLMUsageRecord.cost_usd), 0.0)).where(
                        created(LLMUsageRecord, month_ago)
                    )
                )
                or 0.0
            )
        return Overview(
            now=now,
            users_total=users_total,
            users_new_today=new_today,
            users_new_7d=new_7d,
            users_new_30d=new_30d,
            active=await self.active_users(now),
            blocked=blocked,
            books_ready=books_ready,
            books_failed=books_failed,
            pages_indexed=pages,
            questions_today=q_today,
            questions_30d=q_30d,
            revenue_today=await self.revenue(today, now),
            revenue_30d=await self.revenue(month_ago, now),
            llm_cost_today_usd=round(cost_today, 4),
            llm_cost_30d_usd=round(cost_30d, 4),
            recurring=await self.recurring(now),
        )


async def _active_between(session: AsyncSession, since: datetime, until: datetime) -> int:
    return int(
        await session.scalar(
            select(func.count(distinct(Event.user_id))).where(
                Event.created_at > since, Event.created_at <= until, Event.user_id.is_not(None)
            )
        )
        or 0
    )


def _day(moment: datetime) -> date:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).date()
