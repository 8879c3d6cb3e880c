"""Exactly one scheduler: a lock the running scheduler holds and renews, which a second one waits for.

- Redis (REDIS_URL): `SET key token NX PX ttl`, renewed a third of the ttl apart only while the value is
  still this process's token; a scheduler that dies frees it when the ttl runs out.
- PostgreSQL: a session advisory lock on a connection kept open; a dead scheduler's connection closes
  and frees it.
- Otherwise (SQLite, one machine): an exclusive lock on a file in the data folder, freed by the OS when
  the process ends.

The jobs themselves stay idempotent by period (job_runs), so even two schedulers would do each job once;
the lock keeps a second one idle instead of knocking twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import secrets
import socket
from pathlib import Path
from typing import IO, Any, Protocol

logger = logging.getLogger(__name__)

LOCK_KEY = "librarity:scheduler:leader"
ADVISORY_KEY = 0x4C1B_5C4E  # any fixed 64-bit number, the same in every scheduler

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class LeaderLock(Protocol):
    ttl: float

    async def acquire(self) -> bool: ...

    async def renew(self) -> bool: ...

    async def release(self) -> None: ...

    async def holder(self) -> str | None: ...


def _me() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


class RedisLeaderLock:
    def __init__(self, redis: Any, *, ttl: float, key: str = LOCK_KEY) -> None:
        self.redis = redis
        self.ttl = ttl
        self.key = key
        self.token = _me()

    async def acquire(self) -> bool:
        return bool(await self.redis.set(self.key, self.token, nx=True, px=int(self.ttl * 1000)))

    async def renew(self) -> bool:
        return bool(await self.redis.eval(_RENEW, 1, self.key, self.token, int(self.ttl * 1000)))

    async def release(self) -> None:
        with contextlib.suppress(Exception):
            await self.redis.eval(_RELEASE, 1, self.key, self.token)

    async def holder(self) -> str | None:
        value = await self.redis.get(self.key)
        return value.decode() if isinstance(value, bytes) else value


class PostgresLeaderLock:
    def __init__(self, engine: Any, *, ttl: float) -> None:
        self.engine = engine
        self.ttl = ttl
        self._connection: Any = None

    async def acquire(self) -> bool:
        from sqlalchemy import text

        connection = await self.engine.connect()
        got = await connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY})
        if got:
            self._connection = connection
            return True
        await connection.close()
        return False

    async def renew(self) -> bool:
        from sqlalchemy import text

        if self._connection is None:
            return False
        try:
            await self._connection.scalar(text("SELECT 1"))
            return True
        except Exception:
            self._connection = None
            return False

    async def release(self) -> None:
        from sqlalchemy import text

        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.scalar(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
            with contextlib.suppress(Exception):
                await connection.close()

    async def holder(self) -> str | None:
        return None


class FileLeaderLock:
    def __init__(self, path: Path, *, ttl: float) -> None:
        self.path = path
        self.ttl = ttl
        self._handle: IO[str] | None = None

    async def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: ASYNC230 - a local file, held while we lead
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(_me())
        handle.flush()
        self._handle = handle
        return True

    async def renew(self) -> bool:
        return self._handle is not None

    async def release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()

    async def holder(self) -> str | None:
        with contextlib.suppress(OSError):
            return self.path.read_text().strip() or None
        return None


async def hold_leadership(
    lock: LeaderLock,
    *,
    on_lead: Any,
    on_lose: Any,
    stop: asyncio.Event,
    say: Any = None,
) -> None:
    """Until `stop`: wait for the lock (saying so once), call `on_lead()` when it is ours, renew it,
    call `on_lose()` if it is lost (then wait again). Releases it at the end."""
    period = max(0.2, lock.ttl / 3)
    leading = False
    told_waiting = False
    try:
        while not stop.is_set():
            if not leading:
                try:
                    leading = await lock.acquire()
                except Exception:
                    logger.warning("could not take the scheduler lock", exc_info=True)
                if leading:
                    if say:
                        say("this scheduler runs the jobs" + (" (took over)" if told_waiting else ""))
                    await on_lead()
                elif not told_waiting:
                    told_waiting = True
                    holder = None
                    with contextlib.suppress(Exception):
                        holder = await lock.holder()
                    if say:
                        say(
                            "another scheduler runs the jobs"
                            + (f" ({holder})" if holder else "")
                            + "; this one waits to take over"
                        )
            else:
                renewed = False
                try:
                    renewed = await lock.renew()
                except Exception:
                    logger.warning("could not renew the scheduler lock", exc_info=True)
                if not renewed:
                    leading = False
                    if say:
                        say("the scheduler lock was lost; the jobs stop here until it is ours again")
                    await on_lose()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), period)
    finally:
        if leading:
            await on_lose()
            await lock.release()
