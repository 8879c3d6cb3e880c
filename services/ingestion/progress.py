"""One message that shows live progress, edited at a pace Telegram tolerates.

Telegram answers 429 to a message edited too often and 400 "message is not modified" to an edit that
changes nothing. `ThrottledEditor` keeps the newest wanted content, edits at most once per `interval`
seconds, skips content identical to what is shown, and backs off when told to retry later. It knows
nothing of aiogram: the adapter passes an `edit(text, markup)` coroutine and maps Telegram's flood
error to `RetryLater`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

logger = logging.getLogger(__name__)

EditFunc = Callable[[str, Any], Awaitable[None]]
DEFAULT_INTERVAL = 1.6


class RetryLater(Exception):
    """The messenger asked to wait `seconds` before the next edit (Telegram's 429 retry_after)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


class MessageGone(Exception):
    """The message can no longer be edited (deleted, or the chat blocked us)."""


class ThrottledEditor:
    """Shows the latest content in one message: at most one edit per interval, never the same twice."""

    def __init__(
        self,
        edit: EditFunc,
        *,
        interval: float = DEFAULT_INTERVAL,
        shown: tuple[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self._edit = edit
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        # What the message shows now; sending it counts as the last action on it.
        self.shown: tuple[str, Any] | None = shown
        self._last_edit = clock() if shown is not None else float("-inf")
        self._wanted: tuple[str, Any] | None = None
        self._task: asyncio.Task[None] | None = None
        self.edits = 0
        self.gone = False

    def update(self, text: str, markup: Any = None) -> None:
        """Ask for this content to be shown soon; returns at once (later calls replace earlier ones)."""
        if self.gone:
            return
        self._wanted = (text, markup)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())

    async def finish(self, text: str, markup: Any = None) -> bool:
        """Show this content (after the interval), wait until it is shown; False if it could not be."""
        self.update(text, markup)
        await self.flush()
        return not self.gone and self.shown == (text, markup)

    async def flush(self) -> None:
        """Wait until everything asked for is shown (or given up on)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _drain(self) -> None:
        while self._wanted is not None and not self.gone:
            wait = self._last_edit + self.interval - self._clock()
            if wait > 0:
                await self._sleep(wait)
            wanted, self._wanted = self._wanted, None
            if wanted is None or wanted == self.shown:
                continue
            try:
                await self._edit(*wanted)
            except RetryLater as error:
                # Keep the newest wish, wait as told, then try again.
                self._wanted = self._wanted or wanted
                self._last_edit = self._clock() + error.seconds - self.interval
                continue
            except MessageGone:
                self.gone = True
                return
            except Exception:
                logger.warning("progress edit failed", exc_info=True)
                self._last_edit = self._clock()
                continue
            self.shown = wanted
            self.edits += 1
            self._last_edit = self._clock()
