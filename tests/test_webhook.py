"""Webhook mode: Telegram's secret token is required; /healthz answers."""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_context
from bot.dispatcher import build_dispatcher
from bot.factory import create_bot
from bot.sandbox.emulator import SandboxEmulator
from bot.web import WEBHOOK_PATH, build_webhook_app

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
        telegram_api_url=emulator.base_url,
        webhook_url="https://bot.example.com",
        webhook_secret="s3cret",
        scheduler_enabled=False,
    )
    ctx = await build_context(settings)
    bot = create_bot(settings)
    app = build_webhook_app(ctx, build_dispatcher(ctx), bot)
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
