"""The daily quote, the weekly digest and re-engagement: at the user's local hour, once per period, never
to users who turned them off or blocked the bot; a missed hour catches up once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from db.models import ChatTurn, User
from tests.support_notifications import add_book, add_user, clock_at, make_job_env

# 2025-03-01 is a Saturday, 2025-03-02 a Sunday.
SAT = datetime(2025, 3, 1, tzinfo=UTC)


async def _seed(session_factory: async_sessionmaker[AsyncSession]) -> None:
    await add_user(session_factory, 1, language="en", last_seen_at=SAT)  # UTC, 09:00
    await add_user(session_factory, 2, language="ru", last_seen_at=SAT)  # Europe/Moscow (UTC+3), 09:00
    await add_user(
        session_factory, 3, language="en", last_seen_at=SAT, settings={"notifications": {"off": ["quote"]}}
    )
    await add_user(session_factory, 4, language="en", last_seen_at=SAT, blocked=True)
    await add_user(session_factory, 5, language="en", last_seen_at=SAT)  # no books: no quote
    await add_user(
        session_factory,
        6,
        language="en",
        last_seen_at=SAT,
        timezone="Asia/Vladivostok",
        settings={"notifications": {"hour": 20}},
    )  # UTC+10 at 20:00 -> 10:00 UTC
    for user_id in (1, 2, 3, 4, 6):
        await add_book(session_factory, user_id, f"Book of {user_id}")


async def test_quote_once_at_each_users_local_hour(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    await _seed(session_factory)
    clock = clock_at(2025, 3, 1, 5)
    env = make_job_env(session_factory, settings, clock)

    await env.runner.run("user_messages")  # 05:00 UTC: 05 London, 08 Moscow
    assert env.tg.calls == []

    clock.set(SAT + timedelta(hours=6))  # 09:00 in Moscow
    await env.runner.run("user_messages")
    assert [c.chat_id for c in env.tg.calls] == [2]
    assert "Цитата дня" in (env.tg.calls[0].text or "") and "Book of 2" in (env.tg.calls[0].text or "")

    # The same period again, and the job fired twice: nothing new.
    await env.runner.run("user_messages")
    assert len(env.tg.calls) == 1

    for hour in (7, 8, 9, 10, 11):
        clock.set(SAT + timedelta(hours=hour))
        await env.runner.run("user_messages")
    by_user = sorted(c.chat_id for c in env.tg.calls)
    assert by_user == [1, 2, 6], "one quote each; none for quote-off (3), blocked (4) or bookless (5)"
    assert all("Quote of the day" in (c.text or "") for c in env.tg.calls if c.chat_id in (1, 6))

    # The next day, the next quote (Sunday: and the digest, also for the user who only turned quotes off).
    clock.set(SAT + timedelta(days=1, hours=9))
    await env.runner.run("user_messages")
    quotes = [c.chat_id for c in env.tg.calls if "Quote of the day" in (c.text or "")]
    assert quotes.count(1) == 2 and 3 not in quotes
    assert [c.chat_id for c in env.tg.calls if "Your week" in (c.text or "")] == [1, 3] or sorted(
        c.chat_id for c in env.tg.calls if "Your week" in (c.text or "")
    ) == [1, 3]


async def test_running_the_job_function_twice_in_one_period_sends_once(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    await _seed(session_factory)
    clock = clock_at(2025, 3, 1, 9)
    env = make_job_env(session_factory, settings, clock)
    from services.jobs.tasks import user_messages

    first = await user_messages(env.context, clock.now())
    second = await user_messages(env.context, clock.now())
    assert first["quote"] == 1 and second["quote"] == 0
    assert [c.chat_id for c in env.tg.calls] == [1]


async def test_missed_hour_runs_once_after_downtime(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    await _seed(session_factory)
    clock = clock_at(2025, 3, 1, 8, 0)
    env = make_job_env(session_factory, settings, clock)
    await env.runner.catch_up()
    assert env.tg.to(1) == []

    # Down from 08:30 to 10:40: the 09:00 and 10:00 runs never happened.
    clock.set(SAT + timedelta(hours=10, minutes=40))
    outcomes = {o.job: o for o in await env.runner.catch_up()}
    assert outcomes["user_messages"].ran and outcomes["user_messages"].period == "2025-03-01T10:00"
    assert len(env.tg.to(1)) == 1, "the missed 09:00 quote arrives once, late"

    # Another process (or the late scheduler trigger) for the same period does nothing.
    again = await env.runner.run("user_messages")
    assert not again.ran
    assert [o.job for o in await env.runner.catch_up()] == []
    assert len(env.tg.to(1)) == 1


async def test_digest_on_sunday_with_the_week(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    await _seed(session_factory)
    sunday_9 = SAT + timedelta(days=1, hours=9)
    async with session_factory() as session:
        for n in range(3):
            session.add(
                ChatTurn(
                    user_id=1,
                    book_id=1,
                    question=f"What does the sea mean? {n}",
                    search_query="sea",
                    answer="...",
                    citations=[
                        {"book_id": 1, "chunk_id": 1, "page": 11, "chapter": None, "text": "x", "score": 1.0}
                    ],
                    provider="extractive",
                    created_at=sunday_9 - timedelta(days=2),
                )
            )
        await session.commit()
    async with session_factory() as session:
        await session.execute(
            update(User)
            .where(User.id == 6)
            .values(settings={"notifications": {"hour": 20, "off": ["digest"]}})
        )
        await session.commit()
    clock = clock_at(2025, 3, 1, 9)
    env = make_job_env(session_factory, settings, clock)
    await env.runner.run("user_messages")  # Saturday: quote only
    assert not any("week" in (c.text or "") for c in env.tg.calls)

    clock.set(sunday_9)
    await env.runner.run("user_messages")
    clock.set(sunday_9 + timedelta(hours=1))
    await env.runner.run("user_messages")
    digests = [c for c in env.tg.to(1) if "Your week" in (c.text or "")]
    assert len(digests) == 1
    text = digests[0].text or ""
    assert "3 questions" in text and "Book of 1" in text
    assert "the house is quiet" in text, "the passage the answers cited most"

    # Turned off: user 6 (20:00 in Vladivostok = 10:00 UTC) got the quote but no digest.
    assert [c for c in env.tg.to(6) if "Quote of the day" in (c.text or "")]
    assert not [c for c in env.tg.to(6) if "Your week" in (c.text or "")]


async def test_reengagement_once_per_spell(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    seen = datetime(2025, 3, 1, 12, tzinfo=UTC)
    await add_user(session_factory, 10, language="en", last_seen_at=seen)
    await add_user(
        session_factory,
        11,
        language="en",
        last_seen_at=seen,
        settings={"notifications": {"off": ["reminders"]}},
    )
    clock = clock_at(2025, 3, 5, 9)
    env = make_job_env(session_factory, settings, clock)

    await env.runner.run("user_messages")  # 4 days away: nothing
    assert env.tg.calls == []
    for day in (8, 9, 10):
        clock.set(datetime(2025, 3, day, 9, tzinfo=UTC))
        await env.runner.run("user_messages")
    assert len(env.tg.to(10)) == 1 and "a week" in (env.tg.to(10)[0].text or "")
    for moment in (datetime(2025, 3, 31, 9, tzinfo=UTC), datetime(2025, 4, 1, 9, tzinfo=UTC)):
        clock.set(moment)
        await env.runner.run("user_messages")
    assert len(env.tg.to(10)) == 2 and "A month" in (env.tg.to(10)[1].text or "")
    assert env.tg.to(11) == []

    # They come back, then go quiet again: a new spell, a new reminder.
    async with session_factory() as session:
        await session.execute(
            update(User).where(User.id == 10).values(last_seen_at=datetime(2025, 4, 2, 12, tzinfo=UTC))
        )
        await session.commit()
    clock.set(datetime(2025, 4, 10, 9, tzinfo=UTC))
    await env.runner.run("user_messages")
    assert len(env.tg.to(10)) == 3
