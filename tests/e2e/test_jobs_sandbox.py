"""Scheduled messages and bulk sending through the sandbox: the quote and digest arrive once at the
user's hour, never to users who turned them off or blocked the bot; a broadcast keeps Telegram's pace
and survives a 429."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.sandbox.runner import AppFactory, librarity_app
from tests.e2e.client import SandboxHarness, UserClient, text_of
from tests.support_notifications import add_book

SUNDAY_9_UTC = datetime(2025, 3, 2, 9, tzinfo=UTC)


@pytest.fixture
def sandbox_app_factory(make_settings: Any) -> AppFactory:
    # The tests drive the jobs with chosen times; the in-process scheduler would add real-time runs.
    return librarity_app(make_settings(scheduler_enabled=False))


def _ctx(sandbox_bot: SandboxHarness) -> Any:
    return sandbox_bot.running.dispatcher["ctx"]


async def _quotes(user: UserClient, marker: str) -> list[str]:
    return [text_of(m) for m in await user.messages() if marker in text_of(m)]


async def _quote_card(user: UserClient) -> None:
    """The daily quote's 🖼 Card button sends the quote drawn as an image."""
    quote = next(m for m in await user.messages() if "Quote of the day" in text_of(m))
    await user.tap_button(quote, "Card")
    photo = await user.wait_for(lambda ms: next((m for m in ms if m.get("photo")), None))
    assert (await user.download(photo)).startswith(b"\x89PNG")


async def test_quote_and_digest_once_at_the_users_hour(sandbox_bot: SandboxHarness) -> None:
    ctx = _ctx(sandbox_bot)
    reader = sandbox_bot.user(language_code="en")
    moscow = sandbox_bot.user(language_code="ru")
    quiet = sandbox_bot.user(language_code="en")
    gone = sandbox_bot.user(language_code="en")
    for user in (reader, moscow, quiet, gone):
        await user.ask("/start")
        await add_book(ctx.session_factory, user.user_id, f"Shelf of {user.user_id}")

    # One user turns the daily quote off in /settings; another blocks the bot.
    menu = await quiet.ask("/settings", contains="⚙️")
    await quiet.tap_button(menu, "Daily quote")
    await quiet.wait_for(lambda ms: any("▫️ Daily quote" in text_of(m) for m in ms))
    await gone.block()

    since = await sandbox_bot.control.last_call_seq()
    runner = ctx.services["jobs"]
    for hour in range(5, 12):  # 05:00 .. 11:00 UTC on a Sunday, the job running twice each hour
        for _ in range(2):
            await runner.run("user_messages", now=SUNDAY_9_UTC.replace(hour=hour))

    # Moscow is UTC+3: their 09:00 came at 06:00 UTC; the English user's at 09:00 UTC. Once each.
    assert len(await _quotes(reader, "Quote of the day")) == 1
    assert len(await _quotes(moscow, "Цитата дня")) == 1
    await _quote_card(reader)
    assert len(await _quotes(reader, "Your week")) == 1
    assert len(await _quotes(moscow, "Ваша неделя")) == 1
    assert await _quotes(quiet, "Quote of the day") == []
    assert len(await _quotes(quiet, "Your week")) == 1, "only the quote was turned off"
    # The bot heard of the block (my_chat_member) and never even tried.
    assert await gone.calls("sendMessage", since=since) == []

    # The next day: a new quote, still nothing for the others, and not even an attempt for the blocked user.
    await runner.run("user_messages", now=SUNDAY_9_UTC + timedelta(days=1))
    assert len(await _quotes(reader, "Quote of the day")) == 2
    assert len(await _quotes(quiet, "Your week")) == 1
    assert await gone.calls("sendMessage", since=since) == []


async def test_broadcast_keeps_the_pace_and_survives_a_429(sandbox_bot: SandboxHarness) -> None:
    ctx = _ctx(sandbox_bot)
    users = [sandbox_bot.user() for _ in range(40)]
    await asyncio.gather(*(u.ask("/start") for u in users))
    await asyncio.sleep(1.1)  # let the per-chat pace of the welcome replies pass
    since = await sandbox_bot.control.last_call_seq()
    await sandbox_bot.control.flood(retry_after=1, count=1, method="sendMessage")

    broadcasts = ctx.services["broadcasts"]
    bid = await broadcasts.create(author_id=1, text="📣 Big news")
    await broadcasts.start(bid)
    report = await asyncio.wait_for(broadcasts.wait(bid), timeout=60)
    assert report.status == "done" and report.sent == 40 and report.failed == 0

    calls = await sandbox_bot.control.calls("sendMessage", since=since)
    delivered = [c for c in calls if not c.get("error")]
    refused = [c for c in calls if c.get("error")]
    assert len(refused) == 1 and "retry after" in refused[0]["error"].lower()
    assert Counter(c["chat_id"] for c in delivered) == Counter({u.user_id: 1 for u in users})
    per_second = Counter(int(c["time"]) for c in delivered)
    assert max(per_second.values()) <= 26  # ~25/s; one of slack for where a second boundary falls
    for user in users:
        assert len(await _quotes(user, "Big news")) == 1


async def test_settings_hour_and_time_zone_move_the_quote(sandbox_bot: SandboxHarness) -> None:
    ctx = _ctx(sandbox_bot)
    user = sandbox_bot.user(language_code="en")
    await user.ask("/start")
    await add_book(ctx.session_factory, user.user_id, "Moby-Dick")
    menu = await user.ask("/settings", contains="⚙️")
    assert "09:00" in text_of(menu) and "UTC" in text_of(menu)

    await user.tap_button(menu, "09:00")
    hours = await user.wait_for(lambda ms: next((m for m in ms if "At what hour" in text_of(m)), None))
    await user.tap_button(hours, "07:00")
    menu = await user.wait_for(
        lambda ms: next((m for m in ms if "Settings" in text_of(m) and "07:00" in text_of(m)), None)
    )
    await user.tap_button(menu, "UTC")
    zones = await user.wait_for(
        lambda ms: next((m for m in ms if "time zone" in text_of(m).lower() and "now" in text_of(m)), None)
    )
    await user.tap_button(zones, "Asia/Vladivostok")
    await user.wait_for(
        lambda ms: any("Asia/Vladivostok" in text_of(m) and "Settings" in text_of(m) for m in ms)
    )

    runner = ctx.services["jobs"]
    # 07:00 in Vladivostok (UTC+10) is 21:00 UTC the day before.
    await runner.run("user_messages", now=datetime(2025, 3, 4, 7, tzinfo=UTC))
    assert await _quotes(user, "Quote of the day") == []
    await runner.run("user_messages", now=datetime(2025, 3, 4, 21, tzinfo=UTC))
    quotes = await _quotes(user, "Quote of the day")
    assert len(quotes) == 1 and "Moby-Dick" in quotes[0]
