"""Test doubles for notifications: a recording Telegram session and virtual time for the Sender."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramForbiddenError, TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.types import Chat, Message

from bot.i18n import I18n
from services.jobs.clock import FakeClock
from services.notifications.sender import Sender


class VirtualTime:
    """monotonic()/sleep() pair where sleeping moves time forward at once (sequential use only)."""

    def __init__(self) -> None:
        self.t = 0.0

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)
        await asyncio.sleep(0)


@dataclass
class Call:
    at: float
    method: str
    chat_id: int
    text: str | None


class RecordingSession(BaseSession):
    """Answers sendMessage/sendPhoto like Telegram, records each call, and can refuse like Telegram."""

    def __init__(self, time: VirtualTime | None = None) -> None:
        super().__init__()
        self.time = time
        self.calls: list[Call] = []
        self.blocked: set[int] = set()
        self.retry_after: list[int] = []  # the next calls answer 429 with these retry_after values
        self.attempts = 0
        self._ids = 0

    async def make_request(self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None) -> Any:
        self.attempts += 1
        chat_id = int(getattr(method, "chat_id", 0))
        if self.retry_after:
            seconds = self.retry_after.pop(0)
            raise TelegramRetryAfter(method=method, message=f"Too Many Requests: retry after {seconds}", retry_after=seconds)
        if chat_id in self.blocked:
            raise TelegramForbiddenError(method=method, message="Forbidden: bot was blocked by the user")
        text = getattr(method, "text", None) or getattr(method, "caption", None)
        self.calls.append(Call(self.time.t if self.time else 0.0, type(method).__name__, chat_id, text))
        self._ids += 1
        return Message(
            message_id=self._ids, date=datetime.now(UTC), chat=Chat(id=chat_id, type="private"), text=text
        )

    async def close(self) -> None:
        return None

    async def stream_content(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - not used
        raise NotImplementedError

    def to(self, chat_id: int) -> list[Call]:
        return [c for c in self.calls if c.chat_id == chat_id]

    def per_second(self, chat_id: int | None = None) -> Counter[int]:
        return Counter(int(c.at) for c in self.calls if chat_id is None or c.chat_id == chat_id)


def make_bot(session: RecordingSession) -> Bot:
    return Bot("123:TEST", session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def make_sender(session_factory: Any, session: RecordingSession, time: VirtualTime, **kwargs: Any) -> Sender:
    return Sender(make_bot(session), session_factory, monotonic=time.monotonic, sleep=time.sleep, **kwargs)


def clock_at(*args: int) -> FakeClock:
    return FakeClock(datetime(*args, tzinfo=UTC))  # type: ignore[misc]


I18N = I18n()
