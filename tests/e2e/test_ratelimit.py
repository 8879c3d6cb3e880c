"""Rate limits through the sandbox, on SQLite and PostgreSQL: a flood of questions gets the budget's
answers and one "too fast" notice, then silence, while another user is answered; owners and admins are not
limited; a flood of taps is answered tap by tap; a payment goes through however much the user has sent."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import update

from bot.sandbox.runner import AppFactory, librarity_app
from bot.settings import Settings
from db.models import User
from tests.e2e.client import Message, SandboxHarness, UserClient, text_of

OWNER = 4242
QUESTIONS, CALLBACKS, UPDATES = 5, 5, 10
NO_BOOK = "You have no books yet"
TOO_FAST = "sending messages too fast"


@pytest.fixture(params=["sqlite", "postgres"])
def sandbox_app_factory(request: pytest.FixtureRequest, make_settings: Callable[..., Settings]) -> AppFactory:
    options: dict[str, Any] = {
        "admin_ids": [OWNER],
        "rate_window_seconds": 3600,  # never rolls over during a test
        "rate_questions": QUESTIONS,
        "rate_callbacks": CALLBACKS,
        "rate_updates": UPDATES,
        "scheduler_enabled": False,
    }
    if request.param == "postgres":
        options["database_url"] = request.getfixturevalue("empty_pg_url")
    return librarity_app(make_settings(**options))


def count(messages: list[Message], text: str) -> int:
    return sum(text in text_of(m) for m in messages)


async def flood(user: UserClient, n: int) -> None:
    await asyncio.gather(*(user.send(f"What happens in chapter {i}?") for i in range(n)))


async def settled_after_flood(user: UserClient, answers: int, notices: int) -> list[Message]:
    """Every message the flood brings, once /help (sent after it, a budget of its own) is answered too.

    Updates are handled in the order they arrive and one over budget ends at the rate limit at once, so
    by the time /help is answered every refused question is done; the answered ones are waited for."""
    await user.send("/help")

    def done(messages: list[Message]) -> list[Message] | None:
        complete = (
            count(messages, NO_BOOK) >= answers
            and count(messages, TOO_FAST) >= notices
            and count(messages, "What I can do") == 1
        )
        return messages if complete else None

    return await user.wait_for(done, timeout=60)


async def test_a_flood_gets_one_notice_then_silence_and_others_are_still_answered(
    sandbox_bot: SandboxHarness, user: UserClient
) -> None:
    await flood(user, 60)
    bystander = await sandbox_bot.user().ask("/start")
    assert "Librarity" in text_of(bystander)

    messages = await settled_after_flood(user, QUESTIONS, 1)

    assert count(messages, NO_BOOK) == QUESTIONS
    assert count(messages, TOO_FAST) == 1
    assert "again in 3,600 seconds" in text_of(next(m for m in messages if TOO_FAST in text_of(m)))
    assert len(messages) == QUESTIONS + 2  # the answers, the notice, /help: nothing else
    assert not [m for m in messages if "went wrong" in text_of(m)]


async def test_the_notice_speaks_the_users_language(sandbox_bot: SandboxHarness) -> None:
    user = sandbox_bot.user(language_code="ru")
    await flood(user, QUESTIONS + 3)

    notice = await user.wait_for(lambda ms: next((m for m in ms if "слишком быстро" in text_of(m)), None))

    assert "600 секунд" in text_of(notice)  # 3 600, grouped the Russian way


async def test_owners_and_admins_are_not_limited(sandbox_bot: SandboxHarness) -> None:
    owner = sandbox_bot.user(OWNER)
    admin = sandbox_bot.user()
    await admin.ask("/start")
    ctx = sandbox_bot.running.dispatcher["ctx"]
    async with ctx.session_factory() as session:  # an owner made them an admin
        await session.execute(update(User).where(User.id == admin.user_id).values(role="admin"))
        await session.commit()
    flood_size = QUESTIONS * 3

    for staff in (owner, admin):
        await flood(staff, flood_size)
        messages = await settled_after_flood(staff, flood_size, 0)
        assert count(messages, NO_BOOK) == flood_size
        assert count(messages, TOO_FAST) == 0


async def test_a_flood_of_taps_is_answered_every_time(sandbox_bot: SandboxHarness, user: UserClient) -> None:
    welcome = await user.ask("/start")
    taps = await asyncio.gather(
        *(user.tap(int(welcome["message_id"]), "gone:button", force=True) for _ in range(4 * CALLBACKS))
    )

    assert all(tap["answered"] for tap in taps), taps
    texts = [str(tap.get("text") or "") for tap in taps]
    assert sum("no longer active" in t for t in texts) == CALLBACKS  # the stale-button answer
    assert sum(TOO_FAST in t for t in texts) == 3 * CALLBACKS
    # The taps over budget are told by their answer only: no message in the chat.
    assert not [m for m in await user.messages(int(welcome["message_id"])) if TOO_FAST in text_of(m)]


async def test_a_payment_goes_through_when_the_user_is_over_every_budget(user: UserClient) -> None:
    await user.ask("/start")
    menu = await user.ask("/buy", contains="Credit packs")
    await user.tap_button(menu, "100 credits · 50")
    invoice = await user.wait_for(lambda ms: next((m for m in ms if m.get("invoice")), None))
    await asyncio.gather(*(user.send("/balance") for _ in range(UPDATES + 5)))
    await flood(user, QUESTIONS + 5)
    await user.wait_for(lambda ms: count(ms, TOO_FAST) == 2 or None, after=int(invoice["message_id"]))

    paid = await user.pay(int(invoice["message_id"]))

    assert paid["status"] == "paid", paid
    await user.wait_reply(int(invoice["message_id"]), contains="100 credits added")


async def test_a_flood_of_inline_queries_is_answered_empty_over_budget(user: UserClient) -> None:
    answers = await asyncio.gather(*(user.inline(f"word {i}") for i in range(2 * UPDATES)))

    assert all(a["answered"] for a in answers), answers
    # Within the budget: the empty shelf's "send me a book" button; over it: nothing, and no chat message.
    assert sum("button" in a for a in answers) == UPDATES
    assert all(a["results"] == [] for a in answers)
    assert not [m for m in await user.messages() if TOO_FAST in text_of(m)]
