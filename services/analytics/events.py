"""Recording events: `track(session, ...)` inside a caller's transaction, or `Analytics.record(...)`, which
buffers events and writes them in batches so that recording never slows an update down.

Kinds are dotted names: "signup", "command.start", "callback.lang", "message.text", "message.document",
"notification.quote", ... ; properties are a small JSON object.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Event
from services.jobs.clock import Clock, SystemClock

logger = logging.getLogger(__name__)

KIND_LIMIT = 48


def _event_row(user_id: int | None, kind: str, props: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {"user_id": user_id, "kind": kind[:KIND_LIMIT], "properties": props, "created_at": now}


async def track(
    session: AsyncSession, user_id: int | None, kind: str, *, now: datetime | None = None, **props: Any
) -> None:
    """Add one event in the caller's transaction (the caller commits)."""
    from db.base import utcnow

    session.add(Event(**_event_row(user_id, kind, props, now or utcnow())))


class Analytics:
    """Buffered event recording; `flush()` writes what is buffered (also every `flush_interval` seconds)."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        clock: Clock | None = None,
        *,
        flush_interval: float = 5.0,
        max_buffer: int = 500,
    ) -> None:
        self.session_factory = session_factory
        self.clock = clock or SystemClock()
        self.flush_interval = flush_interval
        self.max_buffer = max_buffer
        self._buffer: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None
        self._flushing = asyncio.Lock()

    def record(self, user_id: int | None, kind: str, **props: Any) -> None:
        """Remember an event; it is written with the next flush."""
        self._buffer.append(_event_row(user_id, kind, props, self.clock.now()))
        if len(self._buffer) >= self.max_buffer and self._task is not None:
            asyncio.get_running_loop().create_task(self.flush())

    async def flush(self) -> int:
        async with self._flushing:
            rows, self._buffer = self._buffer, []
            if not rows:
                return 0
            try:
                async with self.session_factory() as session:
                    await session.execute(insert(Event), rows)
                    await session.commit()
            except Exception:
                logger.exception("writing %d analytics events failed", len(rows))
                # Keep them for the next flush, but never grow without bound.
                self._buffer = (rows + self._buffer)[-10 * self.max_buffer :]
                return 0
            return len(rows)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="analytics-flush")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            await self.flush()


async def delete_events_before(session: AsyncSession, before: datetime) -> int:
    result = await session.execute(delete(Event).where(Event.created_at < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
