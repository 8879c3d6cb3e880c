"""The sandbox's clock: moved through its control API, it moves message dates and the time the bot's
scheduled jobs see; `librarity scheduler --once JOB` runs a job against the running sandbox (its Bot API,
its token, its clock), so the scheduled messages show in the web chat."""

from __future__ import annotations

import argparse
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.cli import scheduler
from bot.sandbox.runner import AppFactory, librarity_app
from bot.settings import Settings
from tests.e2e.client import SandboxHarness, text_of
from tests.support_notifications import add_book

SUNDAY_9_UTC = datetime(2025, 3, 2, 9, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def bot_settings(make_settings: Any) -> Settings:
    # Only the jobs the tests run: the in-process scheduler would add real-time runs.
    settings: Settings = make_settings(scheduler_enabled=False)
    return settings


@pytest.fixture
def sandbox_app_factory(bot_settings: Settings) -> AppFactory:
    return librarity_app(bot_settings)


def _scheduler_settings(make_settings: Any, sandbox_bot: SandboxHarness) -> Settings:
    """What a newcomer's second terminal has: the same data folder, no BOT_TOKEN, the sandbox's address."""
    port = sandbox_bot.running.emulator.port
    settings: Settings = make_settings(sandbox_host="127.0.0.1", sandbox_port=port)
    return settings


async def _run_once(settings: Settings, job: str) -> int:
    return await scheduler.run(argparse.Namespace(once=job), settings)


async def test_moving_the_clock_past_a_trials_end_shows_its_notices(
    sandbox_bot: SandboxHarness, make_settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    user = sandbox_bot.user(language_code="en")
    sent = await user.send("/start")
    await user.wait_reply(int(sent["message_id"]), contains="Pro for 7 days")
    cli_settings = _scheduler_settings(make_settings, sandbox_bot)

    # Half a day before the trial's end: the scheduler, run once against the sandbox, sends the reminder.
    await sandbox_bot.control.move_clock(advance=timedelta(days=6, hours=12))
    assert await _run_once(cli_settings, "trials") == 0
    ending = await user.wait_for(
        lambda ms: next((m for m in ms if "trial ends tomorrow" in text_of(m)), None)
    )
    # The reminder is dated in the sandbox's time, as the web chat shows it.
    assert ending["date"] >= (datetime.now(UTC) + timedelta(days=6, hours=11)).timestamp()

    # Past the end: the trial is over and the user is told so, once.
    await sandbox_bot.control.move_clock(advance=DAY)
    assert await _run_once(cli_settings, "trials") == 0
    ended = await user.wait_for(lambda ms: [m for m in ms if "Your trial has ended" in text_of(m)] or None)
    assert len(ended) == 1 and "/plans" in text_of(ended[0])
    assert "ran=True" in capsys.readouterr().out
    balance = await user.ask("/balance", contains="credits")
    assert "Free" in text_of(balance), text_of(balance)


async def test_the_clock_moves_dates_and_the_bots_own_jobs(sandbox_bot: SandboxHarness) -> None:
    control = sandbox_bot.control
    assert (await control.clock())["offset_seconds"] == 0
    user = sandbox_bot.user(language_code="en")
    await user.ask("/start")
    ctx = sandbox_bot.running.dispatcher["ctx"]
    await add_book(ctx.session_factory, user.user_id, "Moby-Dick")

    moved = await control.move_clock(now=SUNDAY_9_UTC)
    assert abs(datetime.fromisoformat(moved["now"]) - SUNDAY_9_UTC) < timedelta(minutes=1)
    reply = await user.ask("/help")
    assert abs(reply["date"] - SUNDAY_9_UTC.timestamp()) < 60

    # The bot in this process shares the clock: its job, run for "now", finds a Sunday at 09:00 UTC.
    outcome = await ctx.services["jobs"].run("user_messages")
    assert outcome.period == "2025-03-02T09:00", outcome
    digest = await user.wait_for(lambda ms: next((m for m in ms if "Your week" in text_of(m)), None))
    assert "Moby-Dick" in text_of(digest)

    await control.move_clock(advance=timedelta(hours=2))
    assert abs(datetime.fromisoformat((await control.clock())["now"]) - SUNDAY_9_UTC) < timedelta(
        hours=2, minutes=1
    )
    assert (await control.move_clock(reset=True))["offset_seconds"] == 0
    for bad in ({"now": "next Sunday"}, {}):
        async with sandbox_bot.session.post(
            f"{sandbox_bot.base_url}/api/control/clock", json=bad
        ) as response:
            assert response.status == 400


async def test_the_scheduler_says_when_no_sandbox_answers(
    make_settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = make_settings(sandbox_host="127.0.0.1", sandbox_port=port)

    assert await _run_once(settings, "trials") == 2
    assert f"no sandbox answers at http://127.0.0.1:{port}" in capsys.readouterr().out
    assert await _run_once(settings, "no_such_job") == 2
    assert "the jobs: user_messages, renewals, trials" in capsys.readouterr().out
