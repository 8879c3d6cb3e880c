"""Builds the Dispatcher: middlewares, routers and the services handlers receive."""

from __future__ import annotations

from aiogram import Bot, Dispatcher

from bot.commands import set_commands
from bot.context import AppContext
from bot.middlewares import DbSessionMiddleware, I18nMiddleware, UserMiddleware
from bot.middlewares.analytics import AnalyticsMiddleware
from bot.middlewares.ban import BanMiddleware
from bot.middlewares.observability import install as install_observability
from bot.middlewares.ratelimit import RateLimitMiddleware
from bot.middlewares.text import StripNulMiddleware
from bot.runtime import tune_for_updates
from db.user_cache import UserCache
from handlers import get_routers
from services.ratelimit import RateLimiter


def build_dispatcher(ctx: AppContext) -> Dispatcher:
    # FSM storage is wired by hand below, after the rate limit, so a flood costs no storage work either.
    dp = Dispatcher(storage=ctx.storage, disable_fsm=True, **ctx.workflow_data())
    install_observability(dp)  # first: update and user ids on every line, each update counted and timed
    dp.update.outer_middleware(
        RateLimitMiddleware(ctx.settings, ctx.i18n, ctx.session_factory, RateLimiter(ctx.redis))
    )
    dp.update.outer_middleware(dp.fsm)
    dp.update.outer_middleware(StripNulMiddleware())
    dp.update.outer_middleware(DbSessionMiddleware(ctx.session_factory))
    dp.update.outer_middleware(
        UserMiddleware(ctx.settings, UserCache(ctx.engine.url, ctx.settings.user_cache_seconds))
    )
    dp.update.outer_middleware(BanMiddleware(ctx.i18n, ctx.settings.admin_ids))
    dp.update.outer_middleware(I18nMiddleware(ctx.i18n))
    if "analytics" in ctx.services:
        dp.update.outer_middleware(AnalyticsMiddleware(ctx.services["analytics"], ctx.services.get("alerts")))
    dp.include_routers(*get_routers())

    async def on_startup(bot: Bot) -> None:
        await set_commands(bot, ctx.i18n)
        await ctx.start(bot)
        tune_for_updates(bot)

    dp.startup.register(on_startup)
    return dp
