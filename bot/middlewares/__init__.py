"""Middlewares that run around every update: database session, user, language."""

from bot.middlewares.db import DbSessionMiddleware
from bot.middlewares.i18n import I18nMiddleware
from bot.middlewares.user import UserMiddleware

__all__ = ["DbSessionMiddleware", "I18nMiddleware", "UserMiddleware"]
