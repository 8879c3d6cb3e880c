"""The bot's HTTP side: Telegram's webhook (secret checked), /healthz, and routes features add."""

from __future__ import annotations

from collections.abc import Callable

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.app import AppContext

WEBHOOK_PATH = "/telegram/webhook"

# Features that receive HTTP (payment notifications) add `install(app, ctx)` here.
ROUTE_INSTALLERS: list[Callable[[web.Application, AppContext], None]] = []


def _register_route_installers() -> None:
    from services.billing.install import install_routes as billing_routes

    ROUTE_INSTALLERS.append(billing_routes)  # YooKassa notifications (only when YooKassa is configured)


_register_route_installers()


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def install_routes(app: web.Application, ctx: AppContext) -> None:
    app.router.add_get("/healthz", healthz)
    for install in ROUTE_INSTALLERS:
        install(app, ctx)


def build_webhook_app(ctx: AppContext, dp: Dispatcher, bot: Bot) -> web.Application:
    app = web.Application()
    secret = ctx.settings.webhook_secret.get_secret_value() if ctx.settings.webhook_secret else None
    # SimpleRequestHandler answers 401 when X-Telegram-Bot-Api-Secret-Token does not match.
    SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token=secret).register(app, path=WEBHOOK_PATH)
    install_routes(app, ctx)
    setup_application(app, dp, bot=bot)
    return app
