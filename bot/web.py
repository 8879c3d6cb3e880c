"""The bot's HTTP side: Telegram's webhook (secret checked), /healthz (the process is up), /readyz (the
database, Redis, the vector store and the task broker answer), /metrics (Prometheus), and routes features
add."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web
from sqlalchemy import text

from bot.context import AppContext
from bot.observability import install_metrics_route

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
READY_TIMEOUT_SECONDS = 3.0  # each check; a store that answers slower than this counts as down

# Features that receive HTTP (payment notifications) add `install(app, ctx)` here.
ROUTE_INSTALLERS: list[Callable[[web.Application, AppContext], None]] = []


def _register_route_installers() -> None:
    from bot.wiring.billing import install_routes as billing_routes

    ROUTE_INSTALLERS.append(billing_routes)  # YooKassa notifications (only when YooKassa is configured)


_register_route_installers()


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def _answers(name: str, check: Callable[[], Awaitable[object]]) -> bool:
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            await check()
    except Exception as error:
        logger.warning("readiness: %s does not answer: %r", name, error)
        return False
    return True


async def _ping_database(ctx: AppContext) -> None:
    async with ctx.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def _ping_vector_store(index: Any) -> None:
    # A count of a user who never exists: one filtered, indexed lookup on the server or in Edge.
    await index.count(0)


async def _ping_broker(broker: Any) -> None:
    from redis.asyncio import Redis

    async with Redis(connection_pool=broker.connection_pool) as redis:
        await redis.ping()


def readiness_checks(ctx: AppContext) -> dict[str, Callable[[], Awaitable[object]]]:
    """What must answer for this process to take work: the database; Redis, the vector store and the
    task broker where they are configured (an in-process broker has nothing to ask)."""
    checks: dict[str, Callable[[], Awaitable[object]]] = {"database": lambda: _ping_database(ctx)}
    if ctx.redis is not None:
        checks["redis"] = ctx.redis.ping
    index = ctx.services.get("search_index")
    if index is not None and callable(getattr(index, "count", None)):
        checks["vector_store"] = lambda: _ping_vector_store(index)
    broker = getattr(ctx.services.get("tasks"), "broker", None)
    if broker is not None and getattr(broker, "connection_pool", None) is not None:
        checks["broker"] = lambda: _ping_broker(broker)
    return checks


def readyz(ctx: AppContext) -> Callable[[web.Request], Awaitable[web.Response]]:
    """200 {"ok": true} when the database, Redis, the vector store and the task broker (those configured)
    answer; else 503 naming what is down."""

    async def handler(request: web.Request) -> web.Response:
        checks = readiness_checks(ctx)
        results = await asyncio.gather(*(_answers(name, check) for name, check in checks.items()))
        down = [name for name, ok in zip(checks, results, strict=True) if not ok]
        if down:
            return web.json_response({"ok": False, "down": down}, status=503)
        return web.json_response({"ok": True})

    return handler


def install_routes(app: web.Application, ctx: AppContext) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz(ctx))
    install_metrics_route(app)
    for install in ROUTE_INSTALLERS:
        install(app, ctx)


def build_webhook_app(ctx: AppContext, dp: Dispatcher, bot: Bot, secret: str) -> web.Application:
    """Telegram's updates at WEBHOOK_PATH, each checked against `secret` (the one given to setWebhook)."""
    app = web.Application()
    # SimpleRequestHandler answers 401 when X-Telegram-Bot-Api-Secret-Token does not match.
    SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token=secret).register(app, path=WEBHOOK_PATH)
    install_routes(app, ctx)
    setup_application(app, dp, bot=bot)
    return app
