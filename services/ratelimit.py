"""Rate limits: how many updates of one kind a user may send in a window, counted in Redis or in memory.

Fixed windows: a user's first update of a kind starts a window of `window` seconds; the count starts over
when it ends. Counters live in Redis when the bot has one (shared by every bot process), in memory
otherwise. While Redis cannot be reached they are kept in memory, and Redis is tried again every
`redis_retry_seconds` until it answers.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    notify: bool  # the first update over the budget in its window: the one the user is told about
    retry_after: int  # whole seconds until the window ends


class MemoryCounters:
    """Counters in this process; windows that ended are dropped once a window."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._counts: dict[str, tuple[int, float]] = {}  # key -> (count, when the window ends)
        self._sweep_at = 0.0

    def hit(self, key: str, window: int) -> tuple[int, float]:
        """Count one update; (the count in this window, seconds until it ends)."""
        now = self._clock()
        if now >= self._sweep_at:
            self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            self._sweep_at = now + window
        count, ends = self._counts.get(key, (0, now + window))
        if ends <= now:
            count, ends = 0, now + window
        self._counts[key] = (count + 1, ends)
        # (now + window) - now can come out a hair above window in floating point: never say window + 1 s.
        return count + 1, min(float(window), ends - now)


class RateLimiter:
    def __init__(
        self,
        redis: Redis | None = None,
        *,
        prefix: str = "librarity:rate:",
        redis_retry_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.redis_retry_seconds = redis_retry_seconds
        self._clock = clock
        self._memory = MemoryCounters(clock)
        self._redis_down = False
        self._redis_retry_at = 0.0

    async def hit(self, key: str, limit: int, window: int) -> Verdict:
        """Count one update under `key` against `limit` per `window` seconds (a limit of 0: no limit)."""
        if limit <= 0:
            return Verdict(allowed=True, notify=False, retry_after=0)
        count, left = await self._count(key, window)
        return Verdict(allowed=count <= limit, notify=count == limit + 1, retry_after=max(1, math.ceil(left)))

    async def _count(self, key: str, window: int) -> tuple[int, float]:
        if self.redis is not None and (not self._redis_down or self._clock() >= self._redis_retry_at):
            try:
                counted = await self._count_in_redis(key, window)
            except (RedisError, OSError) as error:
                if not self._redis_down:
                    logger.warning("rate limits: Redis is unreachable (%s); counting in memory", error)
                self._redis_down = True
                self._redis_retry_at = self._clock() + self.redis_retry_seconds
            else:
                if self._redis_down:
                    logger.warning("rate limits: Redis is back; counting there again")
                    self._redis_down = False
                return counted
        return self._memory.hit(key, window)

    async def _count_in_redis(self, key: str, window: int) -> tuple[int, float]:
        assert self.redis is not None
        name = f"{self.prefix}{key}"
        async with self.redis.pipeline(transaction=True) as pipe:
            # The first update of a window creates the key with its expiry; all three run as one.
            pipe.set(name, 0, ex=window, nx=True)
            pipe.incr(name)
            pipe.pttl(name)
            _, count, left_ms = await pipe.execute()
        return int(count), (left_ms / 1000 if left_ms > 0 else float(window))
