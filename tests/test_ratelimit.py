"""The rate limiter on memory and on a real Redis: budgets per key, one notice per window under many hits
at once, windows that end, and Redis going away and coming back (counted in memory meanwhile)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest
from redis.asyncio import Redis

from bot.app import connect_redis
from services.ratelimit import RateLimiter

if TYPE_CHECKING:
    from tests.redis_server import RedisServer

pytest_plugins = ["tests.redis_server"]

HOUR = 3600  # a window that never ends during a test


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def limiter(
    request: pytest.FixtureRequest, redis_url: str, redis_prefix: str
) -> AsyncIterator[RateLimiter]:
    if request.param == "memory":
        yield RateLimiter()
        return
    redis = connect_redis(redis_url)
    yield RateLimiter(redis, prefix=redis_prefix)
    keys = [key async for key in redis.scan_iter(f"{redis_prefix}*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


async def test_a_budget_allows_its_limit_then_refuses_with_one_notice(limiter: RateLimiter) -> None:
    verdicts = [await limiter.hit("questions:1", 3, HOUR) for _ in range(6)]

    assert [v.allowed for v in verdicts] == [True, True, True, False, False, False]
    assert [v.notify for v in verdicts] == [False, False, False, True, False, False]
    assert all(0 < v.retry_after <= HOUR for v in verdicts)
    # Another user, or another kind for the same user, has a budget of its own.
    assert (await limiter.hit("questions:2", 3, HOUR)).allowed
    assert (await limiter.hit("uploads:1", 3, HOUR)).allowed


async def test_many_hits_at_once_allow_exactly_the_limit_and_notify_once(limiter: RateLimiter) -> None:
    verdicts = await asyncio.gather(*(limiter.hit("questions:7", 5, HOUR) for _ in range(60)))

    assert sum(v.allowed for v in verdicts) == 5
    assert sum(v.notify for v in verdicts) == 1
    assert not any(v.allowed and v.notify for v in verdicts)


async def test_a_limit_of_zero_is_no_limit(limiter: RateLimiter) -> None:
    verdicts = [await limiter.hit("updates:1", 0, HOUR) for _ in range(100)]

    assert all(v.allowed and not v.notify for v in verdicts)


async def test_the_count_starts_over_when_the_window_ends() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    assert [(await limiter.hit("callbacks:1", 2, 60)).allowed for _ in range(3)] == [True, True, False]
    clock.now += 45
    refused = await limiter.hit("callbacks:1", 2, 60)
    assert not refused.allowed and refused.retry_after == 15

    clock.now += 15
    assert [(await limiter.hit("callbacks:1", 2, 60)).allowed for _ in range(3)] == [True, True, False]


@pytest.mark.redis
async def test_redis_counts_expire_with_the_window(redis_url: str, redis_prefix: str) -> None:
    redis = connect_redis(redis_url)
    try:
        await RateLimiter(redis, prefix=redis_prefix).hit("questions:1", 3, 60)
        left_ms = await redis.pttl(f"{redis_prefix}questions:1")
        assert 0 < left_ms <= 60_000
        await redis.delete(f"{redis_prefix}questions:1")
    finally:
        await redis.aclose()


@pytest.mark.redis
async def test_counts_fall_back_to_memory_while_redis_is_down_and_go_back_when_it_returns(
    redis_server: RedisServer,
) -> None:
    clock = Clock()
    redis: Redis = connect_redis(redis_server.url)
    limiter = RateLimiter(redis, prefix="rate:", redis_retry_seconds=5, clock=clock)
    try:
        assert (await limiter.hit("questions:1", 2, HOUR)).allowed
        assert await redis.get("rate:questions:1") == b"1"

        await redis_server.stop()
        down = [await limiter.hit("questions:1", 2, HOUR) for _ in range(3)]
        assert [v.allowed for v in down] == [True, True, False]  # counted in memory, from zero
        assert [v.notify for v in down] == [False, False, True]

        await redis_server.start()  # empty: nothing was saved
        assert not (await limiter.hit("questions:1", 2, HOUR)).allowed  # still memory until the retry
        assert await redis.get("rate:questions:1") is None

        clock.now += 5
        assert (await limiter.hit("questions:1", 2, HOUR)).allowed  # Redis again: a new count there
        assert await redis.get("rate:questions:1") == b"1"
    finally:
        await redis.aclose()
