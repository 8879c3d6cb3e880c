"""The daily admin report: one whole UTC day, titled with that day; done only once an admin got it (or when
no admin is configured at all), otherwise tried again within its day (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from db.repositories import notifications as repo
from db.repositories import users as users_repo
from tests.support_notifications import add_user, clock_at, make_job_env

ADMIN = 1
REPORT_AT = datetime(2025, 3, 2, 9, tzinfo=UTC)  # the 09:00 UTC report of 2 March covers 1 March


async def _seed(session_factory: async_sessionmaker[AsyncSession]) -> None:
    await add_user(session_factory, ADMIN, created_at=datetime(2025, 1, 1, tzinfo=UTC))
    for user_id, joined in [
        (10, datetime(2025, 2, 28, 23, 59, tzinfo=UTC)),  # the day before: not new that day
        (11, datetime(2025, 3, 1, 0, 0, tzinfo=UTC)),  # the day's first minute
        (12, datetime(2025, 3, 1, 23, 59, tzinfo=UTC)),  # its last
        (13, datetime(2025, 3, 2, 8, 0, tzinfo=UTC)),  # the report's own morning: not in it
    ]:
        await add_user(session_factory, user_id, created_at=joined)


async def test_the_report_covers_the_day_before_and_is_titled_with_it(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    assert settings.admin_report_hour == 9
    await _seed(session_factory)
    env = make_job_env(session_factory, settings, clock_at(2025, 3, 2, 9), admin_ids=[ADMIN])

    outcome = await env.runner.run("admin_report", now=REPORT_AT)

    assert outcome.ran and outcome.error is None and outcome.result == {"day": "2025-03-01", "sent": 1}
    [report] = env.tg.to(ADMIN)
    assert report.text is not None
    assert "Daily report</b> · 2025-03-01" in report.text
    # As of the end of 1 March: four users, two of them new that day (13 joined on the 2nd).
    assert "Users: 4 (+2 that day" in report.text, report.text


async def test_a_report_that_reached_no_admin_runs_again_within_its_day(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    await _seed(session_factory)
    env = make_job_env(session_factory, settings, clock_at(2025, 3, 2, 9), admin_ids=[ADMIN])
    env.tg.blocked.add(ADMIN)  # the only admin can't be reached

    first = await env.runner.run("admin_report", now=REPORT_AT)
    assert first.ran and first.error is not None and "reached no admin" in first.error
    assert env.tg.to(ADMIN) == []
    async with session_factory() as session:
        run = await repo.job_run(session, "admin_report", first.period)
        assert run is not None and run.status != "done"
    assert all(alert.kind != "error" for alert in env.alerts._pending), "not an error to alert about"

    # The admin is back (Telegram tells the bot): the next hourly knock delivers the same day's report.
    env.tg.blocked.clear()
    async with session_factory() as session:
        await users_repo.set_blocked(session, ADMIN, False)
        await session.commit()
    second = await env.runner.run("admin_report", now=REPORT_AT.replace(hour=14))
    assert second.period == first.period and second.result == {"day": "2025-03-01", "sent": 1}
    [report] = env.tg.to(ADMIN)
    assert report.text is not None and "2025-03-01" in report.text and "Users: 4 (+2 that day" in report.text

    # Done now: later knocks of the same day send nothing more.
    third = await env.runner.run("admin_report", now=REPORT_AT.replace(hour=15))
    assert not third.ran and len(env.tg.to(ADMIN)) == 1


async def test_without_admins_the_report_is_done_at_once(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    env = make_job_env(session_factory, settings, clock_at(2025, 3, 2, 9))

    outcome = await env.runner.run("admin_report", now=REPORT_AT)

    assert outcome.ran and outcome.result == {"skipped": "no admins"}
    assert not (await env.runner.run("admin_report", now=REPORT_AT.replace(hour=10))).ran
    assert env.tg.calls == []
