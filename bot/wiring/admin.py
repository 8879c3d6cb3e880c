"""Builds the admin into the AppContext: `ctx.services["admin"]` (handlers receive `admin`), and at
start-up the /admin command in the command menu of each owner and admin (scoped to their chat)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from services.admin.service import AdminService

if TYPE_CHECKING:
    from bot.context import AppContext

logger = logging.getLogger(__name__)


def build_admin(ctx: AppContext) -> AdminService:
    """The admin service over the context's services (looked up when used, so installation order does
    not matter)."""
    return AdminService(ctx.settings, ctx.session_factory, services=ctx.services)


async def install(ctx: AppContext) -> None:
    admin = build_admin(ctx)
    ctx.services["admin"] = admin

    async def on_start(ctx: AppContext) -> None:
        from handlers.admin.commands import show_admin_commands

        assert ctx.bot is not None
        try:
            await show_admin_commands(ctx.bot, ctx.i18n, ctx.session_factory, ctx.settings.admin_ids)
        except Exception:
            # A missing command menu is cosmetic; it must not stop the bot.
            logger.exception("could not set the admins' command menus")

    async def on_stop(ctx: AppContext) -> None:
        await admin.close()

    ctx.startup_hooks.append(on_start)
    ctx.shutdown_hooks.append(on_stop)
