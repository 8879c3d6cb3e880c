"""The bot's update queue: long polling with offsets, allowed_updates, and one poller at a time."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from typing import Any

from bot.sandbox.errors import GET_UPDATES_CONFLICT, conflict

Json = dict[str, Any]

# What Telegram sends when allowed_updates was never given (or given as an empty list).
_DEFAULT_EXCLUDED = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


def update_type(update: Json) -> str:
    return next(key for key in update if key != "update_id")


class UpdateQueue:
    def __init__(self, history_size: int = 10_000) -> None:
        self._pending: list[Json] = []
        self._next_id = 1
        self._wakeup = asyncio.Event()
        self._generation = 0
        self._closed = False
        self.allowed_updates: list[str] | None = None
        #: Set once the bot first asks for updates (its start-up is done).
        self.polled = asyncio.Event()
        self.history: OrderedDict[int, Json] = OrderedDict()
        self._history_size = history_size

    def push(self, kind: str, payload: Json) -> Json:
        update_id = self._next_id
        self._next_id += 1
        update: Json = {"update_id": update_id, kind: payload}
        self._pending.append(update)
        self.history[update_id] = update
        while len(self.history) > self._history_size:
            self.history.popitem(last=False)
        self._notify()
        return update

    def redeliver(self, update_id: int) -> Json | None:
        """The same update again under a new id, as Telegram does when it was never confirmed."""
        original = self.history.get(update_id)
        if original is None:
            return None
        kind = update_type(original)
        return self.push(kind, original[kind])

    def drop_pending(self) -> None:
        self._pending.clear()

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    def _allowed(self, update: Json) -> bool:
        kind = update_type(update)
        if self.allowed_updates:
            return kind in self.allowed_updates
        return kind not in _DEFAULT_EXCLUDED

    def take(self, offset: int | None, limit: int) -> list[Json]:
        """Confirm updates below offset and return the next ones the bot wants."""
        if offset is not None:
            if offset < 0:
                self._pending = self._pending[offset:]
            else:
                self._pending = [u for u in self._pending if u["update_id"] >= offset]
        self._pending = [u for u in self._pending if self._allowed(u)]
        return self._pending[:limit]

    async def get(
        self, offset: int | None, limit: int, wait_seconds: float, allowed_updates: list[str] | None
    ) -> list[Json]:
        if allowed_updates is not None:
            self.allowed_updates = allowed_updates
        self._generation += 1
        generation = self._generation
        self.polled.set()
        self._notify()
        deadline = time.monotonic() + wait_seconds
        while True:
            if generation != self._generation:
                raise conflict(GET_UPDATES_CONFLICT)
            updates = self.take(offset, limit)
            left = deadline - time.monotonic()
            if updates or left <= 0 or self._closed:
                return updates
            wakeup = self._wakeup
            try:
                await asyncio.wait_for(wakeup.wait(), left)
            except TimeoutError:
                pass

    async def wait_for_push(self, wait_seconds: float) -> None:
        """Wait until something changes in the queue (or the timeout passes)."""
        wakeup = self._wakeup
        try:
            await asyncio.wait_for(wakeup.wait(), wait_seconds)
        except TimeoutError:
            pass

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Let every waiting poller return now (the server is stopping)."""
        self._closed = True
        self._notify()

    def _notify(self) -> None:
        # Every waiter holds the event current when it started waiting; a fresh one is armed for later.
        self._wakeup.set()
        self._wakeup = asyncio.Event()
