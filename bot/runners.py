"""The ways to run the bot: long polling, webhook, and the sandbox (a local Telegram)."""

from __future__ import annotations

import asyncio
import logging
import secrets

from aiogram import Bot
from aiohttp import web

from bot.app import AppContext, build_context
from bot.dispatcher import build_dispatcher
from bot.factory import create_bot
from bot.settings import Settings
from bot.web import WEBHOOK_PATH, build_webhook_app, install_routes

logger = logging.getLogger(__name__)


async def run_polling(settings: Settings) -> None:
    ctx = await build_context(settings)
    bot = create_bot(settings)
    dp = build_dispatcher(ctx)
    # HTTP routes (health, payment notifications) are still served beside polling.
    app = web.Application()
    install_routes(app, ctx)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, settings.webhook_host, settings.webhook_port).start()
    try:
        await bot.delete_webhook(drop_pending_updates=False)
        await dp.start_polling(bot, handle_signals=True)
    finally:
        await runner.cleanup()
        await _close(ctx, bot)


def webhook_secret(settings: Settings) -> str:
    """WEBHOOK_SECRET, or a random one for this run: an update without it is never handled."""
    if settings.webhook_secret and settings.webhook_secret.get_secret_value():
        return settings.webhook_secret.get_secret_value()
    logger.warning(
        "WEBHOOK_SECRET is not set: generated a random one for this run and registered it with setWebhook "
        "(set WEBHOOK_SECRET when several replicas share the webhook)"
    )
    return secrets.token_urlsafe(32)


async def run_webhook(settings: Settings) -> None:
    assert settings.webhook_url
    ctx = await build_context(settings)
    bot = create_bot(settings)
    dp = build_dispatcher(ctx)
    secret = webhook_secret(settings)
    app = build_webhook_app(ctx, dp, bot, secret)
    url = settings.webhook_url.rstrip("/") + WEBHOOK_PATH
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, settings.webhook_host, settings.webhook_port).start()
    await bot.set_webhook(url, secret_token=secret, allowed_updates=dp.resolve_used_update_types())
    logger.info("webhook set to %s", url)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await _close(ctx, bot)


async def _close(ctx: AppContext, bot: Bot) -> None:
    await ctx.close()
    await bot.session.close()


async def run(settings: Settings) -> None:
    if settings.sandbox:
        from bot.sandbox.runner import run_sandbox

        await run_sandbox(settings)
    elif settings.webhook_url:
        await run_webhook(settings)
    else:
        await run_polling(settings)
