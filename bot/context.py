"""The application context: every long-lived service, built once at start-up (bot/app.py) and closed at
exit. Its own module so that the wiring and the handlers can name it without importing the composition
root that imports them."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiogram.fsm.storage.base import BaseStorage
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.i18n import I18n
from bot.settings import Settings

if TYPE_CHECKING:
    from aiogram import Bot
    from redis.asyncio import Redis

logger = logging.getLogger(__name__)

Hook = Callable[["AppContext"], Awaitable[None]]


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    i18n: I18n
    storage: BaseStorage
    redis: Redis | None = None
    bot: Bot | None = None
    # Services register here under the name handlers receive them by (see workflow_data).
    services: dict[str, Any] = field(default_factory=dict)
    # Run once the Bot exists (start background work) and at shutdown (stop it), in order.
    startup_hooks: list[Hook] = field(default_factory=list)
    shutdown_hooks: list[Hook] = field(default_factory=list)

    def workflow_data(self) -> dict[str, Any]:
        return {"ctx": self, "settings": self.settings, **self.services}

    async def start(self, bot: Bot) -> None:
        self.bot = bot
        for hook in self.startup_hooks:
            await hook(self)

    async def close(self) -> None:
        for hook in reversed(self.shutdown_hooks):
            try:
                await hook(self)
            except Exception:
                logger.exception("shutdown hook failed")
        await self.storage.close()
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()
