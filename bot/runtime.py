"""Process-wide tuning applied once the bot has started, so that ordinary updates stay cheap under load.

- The garbage collector: everything built at start-up (settings, services, search index, models) lives as
  long as the process, yet a full collection walks all of it again, a pause of hundreds of milliseconds
  with the models loaded. `gc.freeze()` takes those objects out of its walks; a higher first threshold
  collects less often while many updates are in flight.
- Telegram replies: aiogram parses each Bot API reply as `Response[<the method's result type>]`, a
  pydantic generic model that pydantic keeps only weakly, so after a collection the next call builds it
  again (several milliseconds). Keeping a reference to each one used makes it a lookup.
"""

from __future__ import annotations

import gc
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

GC_FIRST_THRESHOLD = 10_000  # Python's default is 700

_reply_models: dict[Any, Any] = {}
_frozen = False


class KeepReplyModels(BaseRequestMiddleware):
    """Keeps the reply model of every Bot API method the bot calls alive for the life of the process."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        returning = method.__returning__
        if returning not in _reply_models:
            _reply_models[returning] = Response[returning]  # type: ignore[valid-type]
        return await make_request(bot, method)


def tune_for_updates(bot: Bot) -> None:
    """Called at start-up, once the services are built: the bot's reply models, and (once per process)
    the garbage collector."""
    global _frozen
    if not any(isinstance(middleware, KeepReplyModels) for middleware in bot.session.middleware):
        bot.session.middleware(KeepReplyModels())
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()
        gc.set_threshold(GC_FIRST_THRESHOLD, *gc.get_threshold()[1:])
