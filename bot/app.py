"""The composition root: `build_context` opens the database and the FSM storage and lets each feature's
wiring (bot/wiring/) build its services into the AppContext (bot/context.py), once at start-up."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage

from bot.context import AppContext, Hook
from bot.i18n import I18n
from bot.settings import Settings
from db.engine import create_engine, create_session_factory
from db.migrate import upgrade_async

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["SERVICE_INSTALLERS", "AppContext", "Hook", "build_context", "connect_redis"]

logger = logging.getLogger(__name__)


def connect_redis(url: str) -> Redis:
    """A Redis client that fails fast while Redis is down (one reconnect, short timeouts): the update gets
    "try again in a minute" and rate limits count in memory, instead of every update waiting seconds."""
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5, retry=Retry(NoBackoff(), 1))


async def build_context(settings: Settings, *, migrate: bool = True) -> AppContext:
    """Open the database (migrated to head), the FSM storage and every service."""
    from bot.settings import encryption_keys
    from db.encryption import configure as configure_encryption

    configure_encryption(encryption_keys(settings))
    url = settings.effective_database_url
    if migrate:
        await upgrade_async(url)
    engine = create_engine(
        url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=settings.database_pool_timeout,
    )
    redis = None
    storage: BaseStorage
    if settings.redis_url:
        from aiogram.fsm.storage.redis import RedisStorage

        redis = connect_redis(settings.redis_url)
        storage = RedisStorage(redis)
    else:
        storage = MemoryStorage()
    ctx = AppContext(
        settings=settings,
        engine=engine,
        session_factory=create_session_factory(engine),
        i18n=I18n(default=settings.default_locale),
        storage=storage,
        redis=redis,
    )
    for install in SERVICE_INSTALLERS:
        await install(ctx)
    return ctx


# Each feature adds one installer: `async def install(ctx)` that builds its services into ctx.services
# and appends its start/stop hooks. Kept as a list so features stay independent of one another.
SERVICE_INSTALLERS: list[Hook] = []


def _register_installers() -> None:
    from bot.wiring.billing import install as install_billing
    from bot.wiring.ingestion import install as install_ingestion
    from bot.wiring.notifications import install as install_notifications

    SERVICE_INSTALLERS.append(install_ingestion)  # first: others subscribe to books' progress
    SERVICE_INSTALLERS.append(install_notifications)
    from bot.wiring.engagement import install as install_engagement

    SERVICE_INSTALLERS.append(install_engagement)  # after notifications: it uses their clock

    # Chat reuses the search index and LLM router when an earlier installer built them; keep it late.
    from bot.wiring.chat import install as install_chat

    SERVICE_INSTALLERS.append(install_chat)
    SERVICE_INSTALLERS.append(install_billing)

    # The admin looks the other features' services up when it uses them; last, so they are all there.
    from bot.wiring.admin import install as install_admin

    SERVICE_INSTALLERS.append(install_admin)

    # Metrics of books' progress and the metrics port: after the features it watches.
    from bot.wiring.observability import install as install_observability

    SERVICE_INSTALLERS.append(install_observability)


_register_installers()
