"""Broadcasts: one message (text or photo, optional link button) to an audience, at Telegram's pace.

The admin UI drives it: `create` a draft, `audience_size` and `preview` (sent to the admin only), `start`,
watch `progress`, `cancel`, read the `report`. Starting queues one `deliveries` row per recipient and
enqueues one `send_broadcast` task (services/tasks), so one sender works on a broadcast at a time, at
Telegram's pace, in whichever process runs the task (a worker, or the bot without REDIS_URL). Each row is
claimed ("pending" -> "sending") right before its message goes out and marked with the outcome right
after. So a broadcast interrupted midway resumes when its task is delivered again (the stream hands a dead
worker's task to another; the in-process broker's are queued again by `resume_unfinished()` at start) and
sends to those still pending, never twice to anyone: a row left "sending" by a sender that died may have
reached its user, so it is counted as "unknown" and not resent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Broadcast, User
from db.repositories import notifications as repo
from services.jobs.clock import Clock
from services.notifications import preferences
from services.notifications.preferences import Kind
from services.notifications.sender import OutgoingMessage, Sender, SendResult

if TYPE_CHECKING:
    from services.tasks.work import TaskQueue

logger = logging.getLogger(__name__)

AudienceKind = Literal["all", "active", "plan", "language"]
AUDIENCE_KINDS: tuple[str, ...] = ("all", "active", "plan", "language")
ACTIVE_WITHIN = timedelta(days=30)
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
BATCH = 50

# (session, plan name) -> ids of users on that plan; billing provides the real one (see install).
PlanMembers = Callable[[AsyncSession, str], Awaitable[set[int]]]


class BroadcastError(Exception):
    """A broadcast cannot be made or changed; `code` says why (the admin UI maps it to text)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class Audience:
    kind: AudienceKind = "all"
    value: str | None = None  # the plan name or the language code


@dataclass(frozen=True, slots=True)
class BroadcastProgress:
    """Where a broadcast stands; `report` is the same thing once it has finished."""

    id: int
    status: str  # draft | running | cancelled | done
    total: int
    sent: int
    failed: int
    blocked: int
    pending: int
    unknown: int  # interrupted mid-send: maybe delivered, never resent
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def processed(self) -> int:
        return self.sent + self.failed + self.blocked + self.unknown

    @property
    def finished(self) -> bool:
        return self.status in ("done", "cancelled")


async def _role_plan_members(session: AsyncSession, plan: str) -> set[int]:
    """Until billing says who is on which plan: paying users are those with the subscriber role."""
    paid = plan not in ("free", "none")
    roles = ("subscriber",) if paid else ("user",)
    return set((await session.scalars(select(User.id).where(User.role.in_(roles)))).all())


class BroadcastService:
    """Creates, runs, resumes and reports broadcasts; see the module docstring."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        sender: Sender,
        clock: Clock,
        *,
        workers: int = 4,
        plan_members: PlanMembers | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.sender = sender
        self.clock = clock
        self.workers = max(1, workers)
        self.plan_members: PlanMembers = plan_members or _role_plan_members
        # Where sending is queued (set by the wiring); None: an asyncio task of this process.
        self.tasks: TaskQueue | None = None
        self._tasks: dict[int, asyncio.Task[object]] = {}
        self._cancelled: set[int] = set()

    # --- drafting ------------------------------------------------------------------------------------

    async def create(
        self,
        *,
        author_id: int | None,
        text: str | None = None,
        photo_file_id: str | None = None,
        button: tuple[str, str] | None = None,
        audience: Audience = Audience(),
    ) -> int:
        """Save a draft; returns its id. Raises BroadcastError(code) on bad input."""
        text = (text or "").strip() or None
        if text is None and photo_file_id is None:
            raise BroadcastError("empty")
        if text and len(text) > (CAPTION_LIMIT if photo_file_id else TEXT_LIMIT):
            raise BroadcastError("caption_too_long" if photo_file_id else "text_too_long")
        if button is not None:
            label, url = button[0].strip(), button[1].strip()
            if not label or len(label) > 64 or not url.startswith(("https://", "http://", "tg://")):
                raise BroadcastError("bad_button")
            button = (label, url)
        if audience.kind not in AUDIENCE_KINDS or (
            audience.kind in ("plan", "language") and not audience.value
        ):
            raise BroadcastError("bad_audience")
        async with self.session_factory() as session:
            row = Broadcast(
                created_by=author_id,
                text=text,
                photo_file_id=photo_file_id,
                button_text=button[0] if button else None,
                button_url=button[1] if button else None,
                audience=audience.kind,
                audience_value=audience.value,
                status="draft",
                total=0,
                created_at=self.clock.now(),
            )
            session.add(row)
            await session.commit()
            return row.id

    @staticmethod
    def message_of(row: Broadcast) -> OutgoingMessage:
        markup = None
        if row.button_text and row.button_url:
            markup = InlineKeyboardMarkup(
                inline_keyboard=[[InlineKeyboardButton(text=row.button_text, url=row.button_url)]]
            )
        return OutgoingMessage(text=row.text, photo=row.photo_file_id, reply_markup=markup)

    async def audience_ids(self, session: AsyncSession, audience: Audience) -> list[int]:
        """Who a broadcast to `audience` reaches now: not blocked, not banned, news not turned off."""
        query = select(User).where(User.blocked_bot.is_(False), User.banned.is_(False)).order_by(User.id)
        if audience.kind == "active":
            query = query.where(User.last_seen_at >= self.clock.now() - ACTIVE_WITHIN)
        elif audience.kind == "language":
            query = query.where(User.language == audience.value)
        members: set[int] | None = None
        if audience.kind == "plan":
            members = await self.plan_members(session, audience.value or "")
        ids = []
        for user in (await session.scalars(query)).all():
            if members is not None and user.id not in members:
                continue
            if preferences.is_enabled(user, Kind.NEWS):
                ids.append(user.id)
        return ids

    async def audience_size(self, audience: Audience) -> int:
        async with self.session_factory() as session:
            return len(await self.audience_ids(session, audience))

    async def preview(self, broadcast_id: int, chat_id: int) -> SendResult:
        """Send the broadcast to one chat (the admin's) exactly as recipients will see it."""
        row = await self._get(broadcast_id)
        return await self.sender.send(chat_id, self.message_of(row), check_blocked=False)

    # --- running -------------------------------------------------------------------------------------

    async def start(self, broadcast_id: int) -> BroadcastProgress:
        """Queue the audience (a draft only) and send in the background."""
        now = self.clock.now()
        async with self.session_factory() as session:
            row = await session.get(Broadcast, broadcast_id, with_for_update=True)
            if row is None:
                raise BroadcastError("not_found")
            if row.status != "draft":
                raise BroadcastError("not_draft")
            ids = await self.audience_ids(session, Audience(row.audience, row.audience_value))  # type: ignore[arg-type]
            campaign = campaign_of(broadcast_id)
            for offset in range(0, len(ids), 500):
                await repo.add_pending(session, campaign, ids[offset : offset + 500], now)
            row.total = len(ids)
            row.status = "running"
            row.started_at = now
            await session.commit()
        await self._spawn(broadcast_id)
        return await self.progress(broadcast_id)

    async def resume_unfinished(self) -> list[int]:
        """At start-up with the in-process broker: carry on with every broadcast that was running when the
        process stopped. (With Redis the stream still holds their tasks.)"""
        if self.tasks is not None and not self.tasks.in_process:
            return []
        async with self.session_factory() as session:
            ids = list(
                (await session.scalars(select(Broadcast.id).where(Broadcast.status == "running"))).all()
            )
        for broadcast_id in ids:
            await self._spawn(broadcast_id)
        return ids

    async def _spawn(self, broadcast_id: int) -> None:
        task = self._tasks.get(broadcast_id)
        if task is not None and not task.done():
            return
        self._cancelled.discard(broadcast_id)
        if self.tasks is not None:
            await self.tasks.send_broadcast(broadcast_id)
            return
        self._tasks[broadcast_id] = asyncio.create_task(
            self.run(broadcast_id), name=f"broadcast-{broadcast_id}"
        )

    async def run(self, broadcast_id: int) -> str:
        """The `send_broadcast` task: send every pending delivery of a running broadcast, then mark it
        done; returns its status. Rows a sender before this one left "sending" become "unknown"."""
        current = asyncio.current_task()
        running = self._tasks.get(broadcast_id)
        if running is not None and running is not current and not running.done():
            return "running"  # this process sends it already
        if current is not None:
            self._tasks[broadcast_id] = current
        row = await self._get(broadcast_id)
        if row.status != "running":
            return row.status
        message = self.message_of(row)
        campaign = campaign_of(broadcast_id)
        async with self.session_factory() as session:
            await repo.mark_interrupted(session, campaign, self.clock.now())
            await session.commit()
        while not await self._stopping(broadcast_id):
            async with self.session_factory() as session:
                batch = await repo.pending_batch(session, campaign, BATCH)
            if not batch:
                break
            queue: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
            for item in batch:
                queue.put_nowait(item)
            await asyncio.gather(*(self._worker(broadcast_id, queue, message) for _ in range(self.workers)))
        async with self.session_factory() as session:
            final = await session.get(Broadcast, broadcast_id)
            if final is not None and final.status == "running":
                final.status = "done"
                final.finished_at = self.clock.now()
                await session.commit()
        report = await self.progress(broadcast_id)
        logger.info("broadcast %s finished: %s", broadcast_id, report)
        return report.status

    async def _worker(
        self, broadcast_id: int, queue: asyncio.Queue[tuple[int, int]], message: OutgoingMessage
    ) -> None:
        while not queue.empty() and broadcast_id not in self._cancelled:
            delivery_id, user_id = queue.get_nowait()
            async with self.session_factory() as session:
                if not await repo.take_pending(session, delivery_id, self.clock.now()):
                    continue
                await session.commit()
            result = await self.sender.send(user_id, message)
            async with self.session_factory() as session:
                await repo.finish_delivery(
                    session, delivery_id, result.status.value, self.clock.now(), error=result.error
                )
                await session.commit()

    async def _stopping(self, broadcast_id: int) -> bool:
        if broadcast_id in self._cancelled:
            return True
        async with self.session_factory() as session:
            status = await session.scalar(select(Broadcast.status).where(Broadcast.id == broadcast_id))
        return status != "running"

    async def cancel(self, broadcast_id: int) -> BroadcastProgress:
        """Stop sending; what is still pending is not sent. The message in flight finishes first."""
        async with self.session_factory() as session:
            row = await session.get(Broadcast, broadcast_id)
            if row is None:
                raise BroadcastError("not_found")
            if row.status in ("draft", "running"):
                row.status = "cancelled"
                row.finished_at = self.clock.now()
                await session.commit()
        self._cancelled.add(broadcast_id)
        task = self._tasks.get(broadcast_id)
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return await self.progress(broadcast_id)

    async def wait(self, broadcast_id: int, *, poll_seconds: float = 0.5) -> BroadcastProgress:
        """Until the broadcast is over (sent here, or by a worker: then its status is polled)."""
        while True:
            task = self._tasks.get(broadcast_id)
            if task is not None and not task.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(task)
            report = await self.progress(broadcast_id)
            if report.finished or report.status == "draft":
                return report
            await asyncio.sleep(poll_seconds)

    async def stop(self) -> None:
        """At shutdown: stop sending (running broadcasts resume at the next start)."""
        tasks = [t for t in self._tasks.values() if not t.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    # --- reading -------------------------------------------------------------------------------------

    async def progress(self, broadcast_id: int) -> BroadcastProgress:
        async with self.session_factory() as session:
            row = await session.get(Broadcast, broadcast_id)
            if row is None:
                raise BroadcastError("not_found")
            counts = await repo.status_counts(session, campaign_of(broadcast_id))
        return BroadcastProgress(
            id=row.id,
            status=row.status,
            total=row.total,
            sent=counts.get("sent", 0),
            failed=counts.get("failed", 0),
            blocked=counts.get("blocked", 0),
            pending=counts.get("pending", 0) + counts.get("sending", 0),
            unknown=counts.get("unknown", 0),
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
        )

    report = progress

    async def recent(self, limit: int = 10) -> list[BroadcastProgress]:
        async with self.session_factory() as session:
            ids = (
                await session.scalars(select(Broadcast.id).order_by(Broadcast.id.desc()).limit(limit))
            ).all()
        return [await self.progress(i) for i in ids]

    async def _get(self, broadcast_id: int) -> Broadcast:
        async with self.session_factory() as session:
            row = await session.get(Broadcast, broadcast_id)
        if row is None:
            raise BroadcastError("not_found")
        return row


def campaign_of(broadcast_id: int) -> str:
    return f"broadcast:{broadcast_id}"
