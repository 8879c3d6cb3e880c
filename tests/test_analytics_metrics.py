"""Metrics on a small seeded dataset with answers worked out by hand (both databases)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Book, ChatTurn, CreditAccount, Event, LLMUsageRecord, Payment, PaymentOrder
from services.analytics.events import Analytics, track
from services.analytics.metrics import Metrics
from tests.support_notifications import add_user, clock_at

NOW = datetime(2025, 3, 12, 12, tzinfo=UTC)  # a Wednesday


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=UTC)


async def _seed(session_factory: async_sessionmaker[AsyncSession]) -> None:
    await add_user(session_factory, 1, created_at=at(2, 24))  # signup week of Feb 24
    await add_user(session_factory, 2, created_at=at(2, 26))  # signup week of Feb 24
    await add_user(session_factory, 3, created_at=at(3, 4))  # signup week of Mar 3
    await add_user(session_factory, 4, created_at=at(3, 12, 10))  # today
    await add_user(session_factory, 5, created_at=at(1, 1), blocked=True)
    async with session_factory() as session:
        for user_id, kind, moment in [
            (1, "command.start", at(3, 12, 11)),
            (1, "message.text", at(3, 5, 10)),
            (1, "message.text", at(3, 12, 11)),
            (2, "command.start", at(3, 8)),
            (3, "command.start", at(3, 11, 13)),
            (5, "command.start", at(2, 1)),
        ]:
            await track(session, user_id, kind, now=moment)
        books = [
            Book(
                user_id=1,
                file_sha256="a",
                file_name="dune.epub",
                title="Dune",
                status="ready",
                pages=400,
                chunks=1,
            ),
            Book(
                user_id=2,
                file_sha256="a",
                file_name="dune.epub",
                title="Dune",
                status="ready",
                pages=400,
                chunks=1,
            ),
            Book(
                user_id=3,
                file_sha256="b",
                file_name="emma.fb2",
                title="Emma",
                status="ready",
                pages=300,
                chunks=1,
            ),
            Book(
                user_id=3,
                file_sha256="c",
                file_name="bad.pdf",
                title=None,
                status="failed",
                pages=None,
                chunks=0,
            ),
        ]
        session.add_all(books)
        await session.flush()
        for user_id, book, moment in [
            (1, books[0], at(3, 10)),
            (1, books[0], at(3, 11)),
            (1, books[0], at(3, 12, 9)),
            (2, books[1], at(3, 8)),
            (3, books[2], at(3, 11)),
            (3, books[2], at(3, 11, 14)),
        ]:
            session.add(
                ChatTurn(
                    user_id=user_id,
                    book_id=book.id,
                    question="q",
                    search_query="q",
                    answer="a",
                    provider="gemini",
                    created_at=moment,
                )
            )
        for provider, model, cost, moment in [
            ("gemini", "gemini-2.5-flash", 0.01, at(3, 12, 9)),
            ("gemini", "gemini-2.5-flash", 0.02, at(3, 11, 14)),
            ("openai", "gpt-4o-mini", 0.005, at(3, 12, 8)),
            ("openai", "gpt-4o-mini", 1.0, at(3, 1)),  # outside the last day
        ]:
            session.add(
                LLMUsageRecord(
                    user_id=1,
                    provider=provider,
                    model=model,
                    input_tokens=100,
                    output_tokens=50,
                    cost_usd=cost,
                    created_at=moment,
                )
            )
        order = PaymentOrder(
            user_id=1, product="plan_pro", provider="stars", currency="XTR", amount=250, payload="o1"
        )
        session.add(order)
        await session.flush()
        for n, (user_id, currency, amount, plan, moment, refunded_at) in enumerate(
            [
                (1, "XTR", 250, "pro", at(3, 1), None),
                (2, "RUB", 49900, "pro", at(3, 5), None),
                (3, "XTR", 100, None, at(3, 10), at(3, 11)),
                (1, "XTR", 250, "pro", at(1, 30), None),  # last period
                (5, "XTR", 250, "pro", at(2, 1), None),  # last period, then gone
            ]
        ):
            session.add(
                Payment(
                    order_id=order.id,
                    user_id=user_id,
                    provider="stars",
                    charge_id=f"c{n}",
                    currency=currency,
                    amount=amount,
                    plan=plan,
                    created_at=moment,
                    status="refunded" if refunded_at else "paid",
                    refunded_at=refunded_at,
                )
            )
        for user_id in (1, 2):  # on Pro now; user 5's plan has lapsed
            session.add(CreditAccount(user_id=user_id, plan="pro", plan_expires_at=at(4, 1)))
        session.add(CreditAccount(user_id=5, plan="free"))
        await session.commit()


async def test_metrics_on_a_known_dataset(session_factory: async_sessionmaker[AsyncSession]) -> None:
    await _seed(session_factory)
    metrics = Metrics(session_factory)

    active = await metrics.active_users(NOW)
    assert (active.dau, active.wau, active.mau) == (2, 3, 3)

    cohorts = await metrics.retention(NOW, weeks=3)
    assert [(c.week_start, c.size, c.retained) for c in cohorts] == [
        (date(2025, 2, 24), 2, [1.0, 0.5]),
        (date(2025, 3, 3), 1, [1.0]),
        (date(2025, 3, 10), 1, []),
    ]

    books = await metrics.popular_books(NOW - timedelta(days=30), NOW)
    assert [(b.title, b.questions, b.users) for b in books] == [("Dune", 4, 2), ("Emma", 2, 1)]

    features = await metrics.features(NOW - timedelta(days=30), NOW)
    assert [(f.feature, f.count, f.users) for f in features] == [
        ("command.start", 3, 3),
        ("message.text", 2, 1),
    ]

    costs = await metrics.llm_cost(NOW - timedelta(days=1), NOW)
    assert [(c.provider, c.model, c.calls, c.input_tokens, c.output_tokens) for c in costs] == [
        ("gemini", "gemini-2.5-flash", 2, 200, 100),
        ("openai", "gpt-4o-mini", 1, 100, 50),
    ]
    assert abs(costs[0].cost_usd - 0.03) < 1e-9

    revenue = await metrics.revenue(NOW - timedelta(days=30), NOW)
    assert (revenue.stars, revenue.rub, revenue.payments, revenue.refunds, revenue.refunded_stars) == (
        250,
        499.0,
        3,
        1,
        100,
    )

    recurring = await metrics.recurring(NOW)
    assert (recurring.mrr_stars, recurring.mrr_rub, recurring.subscribers) == (250, 499.0, 2)
    assert (recurring.previous_subscribers, recurring.churned, recurring.churn_rate) == (2, 1, 0.5)

    series = await metrics.daily_series(NOW, days=7)
    assert series[0].day == date(2025, 3, 6) and series[-1].day == date(2025, 3, 12)
    last = series[-1]
    assert (last.new_users, last.total_users, last.active_users, last.questions) == (1, 5, 1, 1)
    by_day = {p.day: p for p in series}
    assert by_day[date(2025, 3, 10)].stars == 100 and by_day[date(2025, 3, 11)].questions == 3
    assert series[0].total_users == 4

    overview = await metrics.overview(NOW)
    assert (overview.users_total, overview.users_new_today, overview.users_new_7d, overview.blocked) == (
        5,
        1,
        1,
        1,
    )
    assert (overview.books_ready, overview.books_failed, overview.pages_indexed) == (3, 1, 1100)
    assert (overview.questions_today, overview.questions_30d) == (1, 6)
    assert overview.revenue_30d.stars == 250 and abs(overview.llm_cost_today_usd - 0.015) < 1e-9


async def test_mrr_counts_each_subscription_on_now_once_at_its_monthly_price(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    # Each of users 1-4 paid a 600-star plan and its renewal within the last 30 days.
    accounts: dict[int, dict[str, Any]] = {
        1: dict(plan="scholar", plan_expires_at=at(4, 10)),  # renews
        2: dict(plan="scholar", plan_expires_at=at(4, 10), subscription_canceled=True),  # won't renew
        3: dict(plan="free"),  # refunded back to Free
        4: dict(plan="scholar", plan_expires_at=at(3, 11)),  # lapsed yesterday
        5: dict(plan="pro", plan_expires_at=at(3, 15), trial_ends_at=at(3, 15)),  # a trial, never paid
    }
    for user_id in accounts:
        await add_user(session_factory, user_id)
    async with session_factory() as session:
        order = PaymentOrder(
            user_id=1, product="plan_scholar", provider="stars", currency="XTR", amount=600, payload="o"
        )
        session.add(order)
        await session.flush()
        for user_id, values in accounts.items():
            session.add(CreditAccount(user_id=user_id, **values))
            if user_id == 5:
                continue
            for n, moment in enumerate((at(2, 20), at(3, 10))):
                session.add(
                    Payment(order_id=order.id, user_id=user_id, provider="stars", charge_id=f"s{user_id}-{n}",
                            currency="XTR", amount=600, plan="scholar", created_at=moment, status="paid")
                )  # fmt: skip
        await session.commit()

    recurring = await Metrics(session_factory).recurring(NOW)
    assert (recurring.mrr_stars, recurring.mrr_rub, recurring.subscribers) == (600, 0.0, 1)


async def test_buffered_events_are_written_on_flush(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    analytics = Analytics(session_factory, clock_at(2025, 3, 12, 12))
    analytics.record(1, "command.start")
    analytics.record(None, "system.boot", version="1")
    assert await analytics.flush() == 2
    assert await analytics.flush() == 0
    async with session_factory() as session:
        from sqlalchemy import select

        rows = (await session.scalars(select(Event).order_by(Event.id))).all()
    assert [(r.user_id, r.kind, r.properties) for r in rows] == [
        (1, "command.start", {}),
        (None, "system.boot", {"version": "1"}),
    ]
