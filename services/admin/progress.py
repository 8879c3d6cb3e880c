"""Watching something long (a broadcast) and showing its progress at a calm pace.

`ProgressWatcher.watch` polls every `interval` seconds and calls `show` only when what it would show
changed, until `finished` says so (then shows the last state once more and stops). Telegram answers
frequent edits of one message with 429s; one edit every few seconds, never the same text twice, is calm.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

P = TypeVar("P")


class ProgressWatcher:
    def __init__(self, interval: float = 3.0) -> None:
        self.interval = interval
        self._tasks: dict[Hashable, asyncio.Task[None]] = {}

    def watch(
        self,
        key: Hashable,
        poll: Callable[[], Awaitable[P]],
        show: Callable[[P], Awaitable[Any]],
        finished: Callable[[P], bool],
        *,
        fingerprint: Callable[[P], Hashable] = repr,
    ) -> asyncio.Task[None]:
        """Start watching (a second watch of the same key replaces the first)."""
        old = self._tasks.pop(key, None)
        if old is not None:
            old.cancel()
        task = asyncio.create_task(self._run(poll, show, finished, fingerprint), name=f"watch-{key}")
        self._tasks[key] = task
        task.add_done_callback(lambda t: self._tasks.pop(key, None) if self._tasks.get(key) is t else None)
        return task

    def watching(self, key: Hashable) -> bool:
        task = self._tasks.get(key)
        return task is not None and not task.done()

    async def _run(
        self,
        poll: Callable[[], Awaitable[P]],
        show: Callable[[P], Awaitable[Any]],
        finished: Callable[[P], bool],
        fingerprint: Callable[[P], Hashable],
    ) -> None:
        shown: Hashable | None = None
        while True:
            try:
                state = await poll()
                mark = fingerprint(state)
                if mark != shown:
                    await show(state)
                    shown = mark
                if finished(state):
                    return
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("progress watcher failed; stopping")
                return
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
