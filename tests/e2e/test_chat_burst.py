"""A burst of questions through the sandbox: the day's limit holds for questions sent at once, and the
questions over it get the plan's message with the buy buttons, never an error."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from bot.sandbox.runner import AppFactory, librarity_app
from bot.settings import Settings
from tests.e2e.client import Message, UserClient, buttons_of, text_of
from tests.e2e.test_chat import upload_book

PER_DAY = 2


@pytest.fixture
def sandbox_app_factory(make_settings: Callable[..., Settings]) -> AppFactory:
    # New users start on the Pro trial: both plans allow two questions a day here.
    return librarity_app(
        make_settings(billing_free_questions_per_day=PER_DAY, billing_pro_questions_per_day=PER_DAY)
    )


def is_answer(message: Message) -> bool:
    return any(str(b.get("callback_data", "")).startswith("chat:src:") for b in buttons_of(message))


async def test_questions_sent_at_once_stop_at_the_days_limit(user: UserClient) -> None:
    await user.ask("/start")
    card = await upload_book(user)
    burst = 5
    await asyncio.gather(*(user.send(f"What did Ivan see in the garden, take {n}?") for n in range(burst)))

    def settled(messages: list[Message]) -> list[Message] | None:
        replies = [m for m in messages if is_answer(m) or "questions today" in text_of(m)]
        return replies if len(replies) >= burst else None

    replies = await user.wait_for(settled, after=int(card["message_id"]), timeout=120)
    answers = [m for m in replies if is_answer(m)]
    refusals = [m for m in replies if "questions today" in text_of(m)]
    assert len(answers) == PER_DAY and len(refusals) == burst - PER_DAY
    assert all(any("buy" in str(b.get("callback_data", "")) for b in buttons_of(m)) for m in refusals)
    everything = await user.messages(int(card["message_id"]))
    assert not [m for m in everything if "went wrong" in text_of(m)]
