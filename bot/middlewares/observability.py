"""Every log line written while an update is handled carries its update_id and user_id (structlog
contextvars), and every update is counted by type and outcome with its handling time
(librarity_updates_total, librarity_update_seconds).

Two middlewares, installed by `install(dp)`: the first runs before everything else, aiogram's error
handling included, so the errors handler's lines carry the ids too; the second runs inside the error
handling and notes an update whose handler raised (outcome "error") before the errors handler answers it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import structlog
from aiogram import BaseMiddleware, Dispatcher
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.types import TelegramObject, Update

from bot.middlewares.base import Handler
from services.observability import metrics

logger = logging.getLogger(__name__)

_OUTCOME = "observed_outcome"


class UpdateContextMiddleware(BaseMiddleware):
    """Binds update_id and user_id, times the update and counts it."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        context: dict[str, Any] = {"update_id": event.update_id}
        try:
            user = UserContextMiddleware.resolve_event_context(event).user
        except Exception:  # an update of a kind this aiogram does not know
            user = None
        if user is not None:
            context["user_id"] = user.id
        try:
            update_type = event.event_type
        except Exception:
            update_type = "unknown"
        outcome: dict[str, str] = {}
        data[_OUTCOME] = outcome
        started = time.perf_counter()
        with structlog.contextvars.bound_contextvars(**context):
            try:
                result = await handler(event, data)
            except BaseException:
                outcome.setdefault("outcome", "error")
                raise
            else:
                outcome.setdefault("outcome", "unhandled" if result is UNHANDLED else "handled")
                return result
            finally:
                seconds = time.perf_counter() - started
                metrics.observe_update(update_type, outcome.get("outcome", "error"), seconds)
                logger.debug("update %s %s in %.3fs", update_type, outcome.get("outcome", "error"), seconds)


class HandlerErrorMiddleware(BaseMiddleware):
    """Inside aiogram's error handling: an update whose handling raised is an "error", even when the
    errors handler then answers the user."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        except Exception:
            outcome = data.get(_OUTCOME)
            if isinstance(outcome, dict):
                outcome["outcome"] = "error"
            raise


def install(dp: Dispatcher) -> None:
    """The context middleware first of all of dp.update's outer middlewares, the error one where it is
    registered now (call this before registering the others)."""
    manager = dp.update.outer_middleware
    context = UpdateContextMiddleware()
    manager.register(context)
    # aiogram has no way to put a middleware before its own error handling but the list itself.
    manager._middlewares.remove(context)
    manager._middlewares.insert(0, context)
    manager.register(HandlerErrorMiddleware())
