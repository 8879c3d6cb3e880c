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

    async def make_request(self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None) -> Any:  # noqa: ASYNC109 (aiogram's signature)
        self.attempts += 1
        chat_id = int(getattr(method, "chat_id", 0))
        if self.retry_after:
            seconds = self.retry_after.pop(0)
            raise TelegramRetryAfter(
                method=method, message=f"Too Many Requests: retry after {seconds}", retry_after=seconds
            )
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


# --- seeding and a job environment without Telegram -------------------------------------------------

from dataclasses import field as _field  # noqa: E402
from datetime import timedelta  # noqa: E402

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker  # noqa: E402

from bot.settings import Settings  # noqa: E402
from db.models import Book, Chunk, User  # noqa: E402
from services.analytics.metrics import Metrics  # noqa: E402
from services.jobs.runner import JobRunner  # noqa: E402
from services.jobs.tasks import BillingHooks, JobContext, job_specs  # noqa: E402
from services.notifications.alerts import AdminAlerts  # noqa: E402
from services.notifications.notifier import Notifier  # noqa: E402

PASSAGES = [
    "The sea was calm that morning, and the fishermen went out before dawn. Nobody spoke; each knew the "
    "work and the weather, and the silence was part of the work.",
    "She read the letter twice and then put it away. There are things one understands only later, when "
    "the house is quiet and the lamp is low, and the heart has finished arguing.",
    "Chapter 1 .......... 3\nChapter 2 .......... 17\nChapter 3 .......... 41\nChapter 4 .......... 60",
    "It is a truth seldom admitted that a patient reader finds more in a book than its author put there. "
    "The margins fill up with a second book, written slowly, in pencil.",
]


async def add_user(
    session_factory: async_sessionmaker[AsyncSession],
    user_id: int,
    *,
    language: str = "en",
    created_at: datetime | None = None,
    last_seen_at: datetime | None = None,
    settings: dict[str, Any] | None = None,
    timezone: str | None = None,
    blocked: bool = False,
    role: str = "user",
) -> None:
    moment = created_at or datetime(2025, 1, 1, tzinfo=UTC)
    async with session_factory() as session:
        session.add(
            User(
                id=user_id,
                first_name=f"User{user_id}",
                language=language,
                role=role,
                created_at=moment,
                last_seen_at=last_seen_at or moment,
                settings=settings or {},
                timezone=timezone,
                blocked_bot=blocked,
            )
        )
        await session.commit()


async def add_book(
    session_factory: async_sessionmaker[AsyncSession],
    user_id: int,
    title: str,
    *,
    passages: list[str] | None = None,
    created_at: datetime | None = None,
    pages: int = 100,
) -> int:
    texts = passages if passages is not None else PASSAGES
    async with session_factory() as session:
        book = Book(
            user_id=user_id,
            file_sha256=f"{user_id}-{title}"[:64],
            file_name=f"{title}.txt",
            title=title,
            author="A. Writer",
            status="ready",
            pages=pages,
            chunks=len(texts),
            created_at=created_at or datetime(2025, 1, 1, tzinfo=UTC),
        )
        session.add(book)
        await session.flush()
        for seq, text in enumerate(texts):
            session.add(
                Chunk(
                    book_id=book.id,
                    seq=seq,
                    text=text,
                    page=seq * 10 + 1,
                    chapter=None,
                    percent=seq / len(texts),
                )
            )
        await session.commit()
        return book.id


@dataclass
class JobEnv:
    runner: JobRunner
    tg: RecordingSession
    clock: FakeClock
    notifier: Notifier
    alerts: AdminAlerts
    context: JobContext
    time: VirtualTime = _field(default_factory=VirtualTime)


def make_job_env(
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FakeClock,
    *,
    billing: BillingHooks | None = None,
    admin_ids: list[int] | None = None,
) -> JobEnv:
    time = VirtualTime()
    tg = RecordingSession(time)
    sender = make_sender(session_factory, tg, time)
    alerts = AdminAlerts(sender, I18N, session_factory, admin_ids=admin_ids or [])
    notifier = Notifier(session_factory, sender, I18N, clock, alerts=alerts)
    context = JobContext(
        settings=settings,
        session_factory=session_factory,
        clock=clock,
        i18n=I18N,
        notifier=notifier,
        metrics=Metrics(session_factory),
        alerts=alerts,
        billing=billing or BillingHooks(),
    )
    runner = JobRunner(job_specs(settings), context, session_factory)
    return JobEnv(runner, tg, clock, notifier, alerts, context, time)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
