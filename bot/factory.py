"""Builds the aiogram Bot for Telegram, a local Bot API server or the sandbox."""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.types import LinkPreviewOptions

from bot.settings import Settings


def bot_defaults() -> DefaultBotProperties:
    return DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview=LinkPreviewOptions(is_disabled=True))


def create_bot(settings: Settings, *, token: str | None = None, api_url: str | None = None) -> Bot:
    """The Bot: cloud Telegram by default; `api_url` (or TELEGRAM_API_URL) points it elsewhere."""
    base = api_url or settings.telegram_api_url
    session = None
    if base:
        api = TelegramAPIServer.from_base(base, is_local=settings.telegram_api_is_local and api_url is None)
        session = AiohttpSession(api=api)
    secret = token or (settings.bot_token.get_secret_value() if settings.bot_token else None)
    if secret is None:
        raise ValueError("a bot token is needed")
    return Bot(token=secret, session=session, default=bot_defaults())
