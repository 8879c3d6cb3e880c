"""Reading streaks and milestones through the sandbox, on its movable clock: each day with a question
counts once, a missed day starts the streak again, milestones are announced once, /stats tells the truth."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.sandbox.runner import AppFactory, librarity_app
from bot.settings import Settings
from tests.e2e.client import SandboxHarness, UserClient, text_of
from tests.e2e.test_chat import upload_book

DAY = timedelta(days=1)


@pytest.fixture
def sandbox_app_factory(make_settings: Callable[..., Settings]) -> AppFactory:
    return librarity_app(make_settings())


async def milestones_since(user: UserClient, after: int) -> list[str]:
    return [text_of(m) for m in await user.messages(after) if "Milestone!" in text_of(m)]


async def test_a_streak_counts_days_and_milestones_are_announced_once(
    sandbox_bot: SandboxHarness, user: UserClient
) -> None:
    await sandbox_bot.control.move_clock(now=datetime(2025, 3, 3, 9, 0, tzinfo=UTC))  # a Monday morning
    card = await upload_book(user)
    stats = await user.ask("/stats", contains="Your reading")  # the book, reached since: announced here
    book = await user.wait_reply(int(stats["message_id"]), contains="Milestone!")
    assert "first book" in text_of(book) and "first book" in text_of(stats)

    answer = await user.ask("Who is the Firebird?", timeout=60)
    first = await user.wait_reply(int(answer["message_id"]) - 1, contains="first question")
    announced = await milestones_since(user, int(card["message_id"]))
    assert len(announced) == 2, announced

    again = await user.ask("Who is the Firebird?", timeout=60)
    stats = await user.ask("/stats", contains="Your reading")
    assert await milestones_since(user, int(first["message_id"])) == []  # nothing announced twice
    assert "Streak: 1 day" in text_of(stats) and "Questions: 2" in text_of(stats), text_of(stats)
    assert int(again["message_id"]) < int(stats["message_id"])

    for _ in range(2):  # two more days in a row
        await sandbox_bot.control.move_clock(advance=DAY)
        await user.ask("Who is the Firebird?", timeout=60)
    reached = await user.wait_reply(int(stats["message_id"]), contains="3 days of reading in a row")
    stats = await user.ask("/stats", contains="Your reading")
    text = text_of(stats)
    assert "Streak: 3 days in a row" in text and "Best streak: 3 days" in text and "Days of reading: 3" in text
    assert "3 days of reading in a row" in text and int(reached["message_id"]) < int(stats["message_id"])

    # A day missed: no streak today, the best is kept; the next question starts a new one.
    await sandbox_bot.control.move_clock(advance=2 * DAY)
    stats = await user.ask("/stats", contains="Your reading")
    assert "Streak: none today yet" in text_of(stats) and "Best streak: 3 days" in text_of(stats)
    await user.ask("Who is the Firebird?", timeout=60)
    stats = await user.ask("/stats", contains="Your reading")
    assert "Streak: 1 day" in text_of(stats) and "Days of reading: 4" in text_of(stats), text_of(stats)


async def test_stats_in_russian(sandbox_bot: SandboxHarness) -> None:
    ivan = sandbox_bot.user(language_code="ru")
    stats = await ivan.ask("/stats", contains="Ваше чтение")
    assert "Серия: сегодня ещё нет" in text_of(stats) and "Достижений пока нет" in text_of(stats)
