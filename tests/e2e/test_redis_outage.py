"""Redis going away and coming back, through the sandbox with a Redis server of the test's own: every update
is still answered (a clear "try again in a minute" where the FSM storage is needed, never an error), rate
limits still hold (counted in memory), /readyz says 503 naming Redis, and all is well once it returns."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from bot.sandbox.runner import AppFactory, librarity_app
from bot.settings import Settings
from tests.e2e.client import Message, SandboxHarness, UserClient, text_of

if TYPE_CHECKING:
    from tests.redis_server import RedisServer

pytest_plugins = ["tests.redis_server"]
pytestmark = pytest.mark.redis

QUESTIONS = 5
UNAVAILABLE = "try again in a minute"
TOO_FAST = "sending messages too fast"
READY_TIMEOUT = 10.0


@pytest.fixture(params=["sqlite", "postgres"])
def sandbox_app_factory(
    request: pytest.FixtureRequest, make_settings: Callable[..., Settings], redis_server: RedisServer
) -> AppFactory:
    options: dict[str, Any] = {
        "redis_url": redis_server.url,
        "rate_window_seconds": 3600,
        "rate_questions": QUESTIONS,
        "scheduler_enabled": False,
    }
    if request.param == "postgres":
        options["database_url"] = request.getfixturevalue("empty_pg_url")
    return librarity_app(make_settings(**options))


async def readiness(sandbox: SandboxHarness) -> tuple[int, dict[str, Any]]:
    async with sandbox.session.get(f"{sandbox.base_url}/readyz") as response:
        return response.status, await response.json()


async def ready_again(sandbox: SandboxHarness) -> dict[str, Any]:
    """/readyz once it says 200 (the client reconnects on its next command)."""
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        status, body = await readiness(sandbox)
        if status == 200 or time.monotonic() > deadline:
            assert status == 200, body
            return body
        await asyncio.sleep(0.1)


def count(messages: list[Message], text: str) -> int:
    return sum(text in text_of(m) for m in messages)


async def test_the_bot_answers_through_a_redis_outage_and_recovers(
    sandbox_bot: SandboxHarness, user: UserClient, redis_server: RedisServer
) -> None:
    welcome = await user.ask("/start")
    assert "Librarity" in text_of(welcome)
    assert await readiness(sandbox_bot) == (200, {"ok": True})

    await redis_server.stop()

    # The sandbox runs its tasks in its own process (no workers without BOT_TOKEN): only Redis is down.
    assert await readiness(sandbox_bot) == (503, {"ok": False, "down": ["redis"]})
    reply = await user.ask("/help")
    assert UNAVAILABLE in text_of(reply)
    tap = await user.tap(int(welcome["message_id"]), "gone:button", force=True)
    assert tap["answered"] and UNAVAILABLE in str(tap.get("text")), tap
    # A flood while Redis is down: the rate limit holds in memory.
    sent = await asyncio.gather(*(user.send(f"Question {n}?") for n in range(4 * QUESTIONS)))
    after = min(int(m["message_id"]) for m in sent)
    flood = await user.wait_for(
        lambda ms: ms if count(ms, UNAVAILABLE) >= QUESTIONS and count(ms, TOO_FAST) else None, after=after
    )
    assert count(flood, UNAVAILABLE) == QUESTIONS and count(flood, TOO_FAST) == 1

    await redis_server.start()

    assert await ready_again(sandbox_bot) == {"ok": True}
    help_text = await user.ask("/help")
    assert "What I can do" in text_of(help_text)
    everything = await user.messages()
    assert not [m for m in everything if "went wrong" in text_of(m)]
