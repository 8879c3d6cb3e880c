"""E2E fixtures: the sandbox (Bot API emulator) on a free port and the real bot polling it, in the test's loop.

    async def test_start(sandbox_bot: SandboxHarness) -> None:
        user = sandbox_bot.user(language_code="ru")
        reply = await user.ask("/start")

Override `sandbox_app_factory` (e.g. settings pointing at fake LLM servers) or `sandbox_config` (e.g. a
small download limit) in a test module to change what runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.sandbox.models import SandboxConfig
from bot.sandbox.runner import AppFactory, librarity_app, start_sandbox
from bot.settings import Settings
from tests.e2e.client import SandboxHarness, UserClient


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig()


@pytest.fixture
def sandbox_app_factory(settings: Settings) -> AppFactory:
    """Librarity itself: build_context(settings) + build_dispatcher(ctx)."""
    return librarity_app(settings)


@pytest.fixture
async def sandbox_bot(
    sandbox_app_factory: AppFactory, sandbox_config: SandboxConfig
) -> AsyncIterator[SandboxHarness]:
    async with (
        start_sandbox(sandbox_app_factory, config=sandbox_config) as running,
        aiohttp.ClientSession() as session,
    ):
        yield SandboxHarness(running, session)


@pytest.fixture
def user(sandbox_bot: SandboxHarness) -> UserClient:
    """One English-speaking user with a fresh id."""
    return sandbox_bot.user()
