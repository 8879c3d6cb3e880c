"""Webhook mode: Telegram's secret token is required (a random one when WEBHOOK_SECRET is unset); /healthz
answers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time

import aiohttp
import pytest
from aiogram import Dispatcher
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_context
from bot.dispatcher import build_dispatcher
from bot.factory import create_bot
from bot.runners import run_webhook
from bot.sandbox.emulator import SandboxEmulator
from bot.sandbox.runner import release_routers
from bot.web import WEBHOOK_PATH, build_webhook_app
from handlers import get_routers
from tests.e2e.client import UserClient, text_of

# An update no handler cares about, so nothing calls Telegram while the request is handled.
POLL_UPDATE = {
    "update_id": 1,
    "poll": {
        "id": "1",
        "question": "?",
        "options": [{"text": "a", "voter_count": 0}],
        "total_voter_count": 0,
        "is_closed": False,
        "is_anonymous": True,
        "type": "regular",
        "allows_multiple_answers": False,
    },
}


async def test_webhook_rejects_requests_without_the_secret(make_settings) -> None:  # type: ignore[no-untyped-def]
    # Start-up calls Telegram (setMyCommands); the sandbox's Bot API answers instead.
    emulator = SandboxEmulator()
    await emulator.start()
    settings = make_settings(
        bot_token="123456:TEST",
        data_encryption_key="kRSdYzC6gY4lyZQbcoEKXvvbs5cd1ZBawHVuqSGcUos=",
        telegram_api_url=emulator.base_url,
        webhook_url="https://bot.example.com",
        webhook_secret="s3cret",
        scheduler_enabled=False,
    )
    ctx = await build_context(settings)
    bot = create_bot(settings)
    dispatcher = build_dispatcher(ctx)
    app = build_webhook_app(ctx, dispatcher, bot, "s3cret")
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        assert (await client.post(WEBHOOK_PATH, json=POLL_UPDATE)).status == 401
        wrong = {"X-Telegram-Bot-Api-Secret-Token": "nope"}
        assert (await client.post(WEBHOOK_PATH, json=POLL_UPDATE, headers=wrong)).status == 401
        right = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
        assert (await client.post(WEBHOOK_PATH, json=POLL_UPDATE, headers=right)).status == 200
        health = await client.get("/healthz")
        assert health.status == 200 and (await health.json())["ok"] is True
    finally:
        await client.close()
        await ctx.close()
        await bot.session.close()
        await emulator.stop()
        release_routers(dispatcher)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_webhook_without_a_secret_makes_one_and_refuses_forged_updates(
    make_settings, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    emulator = SandboxEmulator()
    await emulator.start()
    port = _free_port()
    settings = make_settings(
        bot_token="123456:TEST",
        data_encryption_key="kRSdYzC6gY4lyZQbcoEKXvvbs5cd1ZBawHVuqSGcUos=",
        telegram_api_url=emulator.base_url,
        webhook_url=f"http://127.0.0.1:{port}",
        webhook_host="127.0.0.1",
        webhook_port=port,
        scheduler_enabled=False,
    )
    assert settings.webhook_secret is None
    caplog.set_level(logging.WARNING, logger="bot.runners")
    running = asyncio.create_task(run_webhook(settings))
    try:
        deadline = time.monotonic() + 60
        while emulator.world.webhook is None:
            assert not running.done(), running.exception()
            assert time.monotonic() < deadline, "setWebhook was never called"
            await asyncio.sleep(0.05)
        secret = emulator.world.webhook["secret_token"]
        assert len(secret) >= 32, "a random secret is registered with setWebhook"
        generated = [r for r in caplog.records if "WEBHOOK_SECRET" in r.getMessage()]
        assert len(generated) == 1 and secret not in generated[0].getMessage()

        forger = 4242
        forged = {
            "update_id": 900001,
            "message": {
                "message_id": 1,
                "date": 1700000000,
                "chat": {"id": forger, "type": "private", "first_name": "Mallory"},
                "from": {"id": forger, "is_bot": False, "first_name": "Mallory", "language_code": "en"},
                "text": "/start",
            },
        }
        url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
        async with aiohttp.ClientSession() as session:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "guess"}):
                async with session.post(url, json=forged, headers=headers) as response:
                    assert response.status == 401, headers

            # Telegram (the emulator) sends the registered secret: a real user's /start is answered.
            async with UserClient(emulator.base_url, 5151, session=session) as user:
                reply = await user.ask("/start")
                assert "Librarity" in text_of(reply)
            calls = [(c.method, c.chat_id) for c in emulator.world.calls]
            assert not [c for c in calls if c[1] == forger], "a forged update never reaches a handler"
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await emulator.stop()
        dispatcher = get_routers()[0].parent_router  # the one run_webhook built
        if isinstance(dispatcher, Dispatcher):
            release_routers(dispatcher)
