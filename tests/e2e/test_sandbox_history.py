"""The sandbox keeps its chats on disk: after a restart the web page's conversation is still there, and
new messages go on from the old ids (the bot's database remembers those ids)."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from bot.sandbox.history import ChatHistory
from bot.sandbox.runner import AppFactory, librarity_app, start_sandbox
from bot.settings import Settings
from tests.e2e.client import SandboxHarness, text_of


async def test_the_conversation_survives_a_sandbox_restart(settings: Settings, tmp_path: Path) -> None:
    saved = tmp_path / "sandbox" / "chats.json"

    async def run_once(factory: AppFactory) -> tuple[list[str], int]:
        async with (
            start_sandbox(factory, history=ChatHistory(saved)) as running,
            aiohttp.ClientSession() as session,
        ):
            user = SandboxHarness(running, session).user(1001, first_name="Ann")
            sent = await user.send("/help")
            await user.wait_reply(int(sent["message_id"]))
            shown = await user.messages(include_own=True)
            return [text_of(m) for m in shown], int(sent["message_id"])

    first, first_id = await run_once(librarity_app(settings))
    assert saved.is_file() and "/help" in first
    second, second_id = await run_once(librarity_app(settings))
    # Everything of the first run is shown again, before the second run's own messages.
    assert second[: len(first)] == first
    assert second_id > first_id and second.count("/help") == 2


def test_unreadable_saved_chats_start_empty(tmp_path: Path) -> None:
    from bot.sandbox.world import SandboxWorld

    saved = tmp_path / "chats.json"
    saved.write_text("{not json", "utf-8")
    world = SandboxWorld()
    ChatHistory(saved).load(world)
    assert world.chats == {}
