"""Exactly one scheduler leads: the lock on Redis and on a file; a second one idles and takes over."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from redis.asyncio import Redis

from services.jobs.leader import FileLeaderLock, RedisLeaderLock, hold_leadership


@pytest.fixture
async def redis(redis_url: str):  # type: ignore[no-untyped-def]
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_redis_lock_is_held_by_one_and_renewed_only_by_it(redis: Redis) -> None:
    key = f"test:leader:{uuid.uuid4().hex}"
    first, second = RedisLeaderLock(redis, ttl=5, key=key), RedisLeaderLock(redis, ttl=5, key=key)
    assert await first.acquire()
    assert not await second.acquire()
    assert await first.renew() and not await second.renew()
    assert await second.holder() == first.token
    await second.release()  # not its lock: nothing happens
    assert await redis.get(key) == first.token.encode()
    await first.release()
    assert await second.acquire()
    await second.release()


async def test_file_lock_is_held_by_one(tmp_path: Path) -> None:
    first = FileLeaderLock(tmp_path / "scheduler.lock", ttl=1)
    second = FileLeaderLock(tmp_path / "scheduler.lock", ttl=1)
    assert await first.acquire()
    assert not await second.acquire()
    await first.release()
    assert await second.acquire()
    await second.release()


@pytest.mark.parametrize("kind", ["redis", "file"])
async def test_second_scheduler_idles_then_takes_over(kind: str, redis: Redis, tmp_path: Path) -> None:
    key = f"test:leader:{uuid.uuid4().hex}"

    def lock() -> RedisLeaderLock | FileLeaderLock:
        if kind == "redis":
            return RedisLeaderLock(redis, ttl=0.6, key=key)
        return FileLeaderLock(tmp_path / "scheduler.lock", ttl=0.6)

    leading: list[str] = []
    lines: dict[str, list[str]] = {"a": [], "b": []}
    stops = {"a": asyncio.Event(), "b": asyncio.Event()}

    def run(name: str) -> asyncio.Task[None]:
        async def lead() -> None:
            leading.append(name)

        async def lose() -> None:
            leading.remove(name)

        return asyncio.create_task(
            hold_leadership(lock(), on_lead=lead, on_lose=lose, stop=stops[name], say=lines[name].append)
        )

    a = run("a")
    for _ in range(100):
        if leading:
            break
        await asyncio.sleep(0.05)
    b = run("b")
    for _ in range(100):
        if lines["b"]:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)  # several renewals
    assert leading == ["a"]
    assert "waits to take over" in lines["b"][0]

    stops["a"].set()
    await a
    for _ in range(200):
        if leading == ["b"]:
            break
        await asyncio.sleep(0.05)
    assert leading == ["b"] and "took over" in lines["b"][-1]
    stops["b"].set()
    await b
    assert leading == []
