"""The one way bot-initiated messages reach Telegram, at Telegram's pace.

- Pace: at most `rate` messages a second overall and `per_chat_rate` a second per chat, kept by two token
  buckets of capacity one (a reserved next slot each), so no second ever sees a burst above the limit.
- TelegramRetryAfter: everybody waits `retry_after` (Telegram's flood limit is per bot), then this message is
  retried.
- TelegramForbiddenError (blocked, deactivated, kicked): the user is marked `blocked_bot` and skipped from then
  on, until they write to the bot again.
- Anything else: logged, counted, reported as failed; network and server errors get a few retries first.

This is the adapter that talks to Telegram: services hand it text and markup and get a `SendResult` back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardMarkup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import User
from db.repositories import users as users_repo

if TYPE_CHECKING:
    from aiogram import Bot

logger = logging.getLogger(__name__)


class SendStatus(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"  # the user blocked the bot (now, or earlier: skipped without a call)
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """Text (HTML) or a photo with an optional caption, and optional inline buttons."""

    text: str | None = None
    photo: str | None = None  # a Telegram file id or URL
    reply_markup: InlineKeyboardMarkup | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    status: SendStatus
    message_id: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is SendStatus.SENT


class Pacer:
    """Reserves send slots: one every 1/rate seconds overall and one every 1/per_chat_rate per chat."""

    def __init__(
        self,
        rate: float,
        per_chat_rate: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.interval = 1.0 / rate
        self.chat_interval = 1.0 / per_chat_rate
        self._monotonic = monotonic
        self._sleep = sleep
        self._next_any = 0.0
        self._next_chat: dict[int, float] = {}

    async def wait(self, chat_id: int) -> None:
        now = self._monotonic()
        start = max(now, self._next_any, self._next_chat.get(chat_id, 0.0))
        # Reserved before sleeping, so concurrent senders line up instead of all waking at once.
        self._next_any = start + self.interval
        self._next_chat[chat_id] = start + self.chat_interval
        if len(self._next_chat) > 10_000:
            self._next_chat = {cid: t for cid, t in self._next_chat.items() if t > now}
        if start > now:
            await self._sleep(start - now)

    def hold_all(self, seconds: float) -> None:
        """Nobody sends for `seconds` (Telegram said so)."""
        self._next_any = max(self._next_any, self._monotonic() + seconds)


class Sender:
    """Sends bot-initiated messages; see the module docstring for the rules."""

    def __init__(
        self,
        bot: Bot | None,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        rate: float = 25.0,
        per_chat_rate: float = 1.0,
        max_retries: int = 3,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.bot = bot
        self.session_factory = session_factory
        self.pacer = Pacer(rate, per_chat_rate, monotonic=monotonic, sleep=sleep)
        self.max_retries = max_retries
        self._sleep = sleep
        self.stats: Counter[str] = Counter()

    async def send(
        self, chat_id: int, message: OutgoingMessage | str, *, check_blocked: bool = True
    ) -> SendResult:
        """Send one message to a user or chat; never raises for Telegram's answers."""
        if isinstance(message, str):
            message = OutgoingMessage(text=message)
        if check_blocked and chat_id > 0 and await self._is_blocked(chat_id):
            self.stats["skipped_blocked"] += 1
            return SendResult(SendStatus.BLOCKED, error="blocked earlier")
        if self.bot is None:
            self.stats["failed"] += 1
            return SendResult(SendStatus.FAILED, error="no bot")
        attempt = 0
        while True:
            await self.pacer.wait(chat_id)
            try:
                sent = await self._call(chat_id, message)
            except TelegramRetryAfter as error:
                self.stats["retry_after"] += 1
                self.pacer.hold_all(error.retry_after)
                attempt += 1
                if attempt > self.max_retries:
                    return self._failed(chat_id, error)
                logger.info("Telegram asks to wait %ss before sending to %s", error.retry_after, chat_id)
                continue
            except TelegramForbiddenError as error:
                await self._mark_blocked(chat_id)
                self.stats["blocked"] += 1
                return SendResult(SendStatus.BLOCKED, error=error.message)
            except (TelegramNetworkError, TelegramServerError) as error:
                attempt += 1
                if attempt > self.max_retries:
                    return self._failed(chat_id, error)
                await self._sleep(min(2.0**attempt, 30.0))
                continue
            except TelegramBadRequest as error:
                return self._failed(chat_id, error)
            except Exception as error:  # anything else must not stop a long send
                logger.exception("sending to %s failed unexpectedly", chat_id)
                return self._failed(chat_id, error)
            self.stats["sent"] += 1
            return SendResult(SendStatus.SENT, message_id=sent)

    async def _call(self, chat_id: int, message: OutgoingMessage) -> int:
        assert self.bot is not None
        if message.photo:
            result = await self.bot.send_photo(
                chat_id, message.photo, caption=message.text, reply_markup=message.reply_markup
            )
        else:
            result = await self.bot.send_message(
                chat_id, message.text or "", reply_markup=message.reply_markup
            )
        return result.message_id

    def _failed(self, chat_id: int, error: BaseException) -> SendResult:
        self.stats["failed"] += 1
        logger.warning("sending to %s failed: %s", chat_id, error)
        return SendResult(SendStatus.FAILED, error=str(error)[:255])

    async def _is_blocked(self, user_id: int) -> bool:
        async with self.session_factory() as session:
            return bool(await session.scalar(select(User.blocked_bot).where(User.id == user_id)))

    async def _mark_blocked(self, chat_id: int) -> None:
        if chat_id <= 0:
            return
        async with self.session_factory() as session:
            await users_repo.set_blocked(session, chat_id, True)
            await session.commit()
        logger.info("user %s blocked the bot; not sending to them any more", chat_id)
