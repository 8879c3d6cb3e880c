"""The background work's broker: taskiq, on Redis streams in production, in this process otherwise.

With REDIS_URL the tasks go through a Redis stream read by a consumer group (taskiq-redis's
RedisStreamBroker): a delivery is acknowledged only once its task has finished (and its result is saved
in Redis for a caller that waits), so a task whose worker is killed is not lost: after
TASK_REDELIVER_SECONDS without a sign of life another worker claims it (XAUTOCLAIM) and runs it again.
A worker that is alive keeps the deliveries it holds fresh (XCLAIM to itself with JUSTID, a third of that
time apart), so a long task (a large book) is never handed to a second worker while the first still
works on it. Without REDIS_URL taskiq's in-memory broker runs the same tasks as asyncio tasks of this
process, so one process with no servers does everything.

Failing tasks are retried with backoff (taskiq's SmartRetryMiddleware); a `delay` label holds a delivery
back that many seconds before it runs (the retry's backoff, or a book's next attempt).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

from taskiq import AckableMessage, AsyncBroker, InMemoryBroker, SmartRetryMiddleware, TaskiqMessage
from taskiq.abc.middleware import TaskiqMiddleware

logger = logging.getLogger(__name__)

QUEUE_NAME = "librarity:tasks"
CONSUMER_GROUP = "librarity-workers"
RESULT_SECONDS = 3600  # how long a task's result stays in Redis for a caller to read
WORKER_SEEN_MS = 60_000  # a worker's "I am here" key outlives its last renewal this long


class HoldBack(TaskiqMiddleware):
    """Waits `labels["delay"]` seconds before a delivery runs. The delivery stays unacknowledged (and
    kept fresh) meanwhile, so a worker killed while waiting loses nothing."""

    async def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        try:
            delay = float(message.labels.get("delay") or 0)
        except (TypeError, ValueError):
            delay = 0.0
        if delay > 0:
            await asyncio.sleep(delay)
        return message


class InProcessBroker(InMemoryBroker):
    """taskiq's in-memory broker, whose deliveries' own failures (a retry that can no longer be queued
    because the process is stopping) are logged rather than left as "Task exception was never
    retrieved" at exit."""

    async def kick(self, message: Any) -> None:
        known = set(self._running_tasks)
        await super().kick(message)
        for task in self._running_tasks - known:
            task.add_done_callback(_log_failure)


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.warning("background task delivery failed: %r", task.exception())


def _stream_broker_class() -> type[Any]:
    from redis.asyncio import Redis
    from taskiq_redis import RedisStreamBroker

    class KeptStreamBroker(RedisStreamBroker):  # type: ignore[misc]
        """RedisStreamBroker whose worker keeps the deliveries it holds fresh and reclaims those of dead
        workers on every poll (the stock broker reclaims only after new messages arrived)."""

        def __init__(self, url: str, *, redeliver_after: float, queue_name: str, **kwargs: Any) -> None:
            redeliver_ms = max(1000, int(redeliver_after * 1000))
            super().__init__(
                url,
                queue_name=queue_name,
                consumer_group_name=CONSUMER_GROUP,
                consumer_id="0",  # a new group reads what was queued before any worker started
                idle_timeout=redeliver_ms,
                # Names the process in XPENDING / XINFO CONSUMERS: which worker holds what.
                consumer_name=f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(3)}",
                xread_block=1000,
                xread_count=1,  # take one delivery at a time: the rest stay for idle workers
                **kwargs,
            )
            self._held: dict[tuple[bytes, bytes], None] = {}
            self._keeper: asyncio.Task[None] | None = None

        async def startup(self) -> None:
            await super().startup()
            if self.is_worker_process and self._keeper is None:
                self._keeper = asyncio.create_task(self._keep_fresh(), name="task-deliveries-keeper")

        async def shutdown(self) -> None:
            if self._keeper is not None:
                self._keeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._keeper
                self._keeper = None
                with contextlib.suppress(Exception):
                    async with Redis(connection_pool=self.connection_pool) as redis:
                        await redis.delete(f"{self.queue_name}:worker:{self.consumer_name}")
            await super().shutdown()

        def _ack_generator(self, id: Any, queue_name: Any) -> Callable[[], Awaitable[None]]:
            key = (_as_bytes(queue_name), _as_bytes(id))
            self._held[key] = None
            ack = super()._ack_generator(id=id, queue_name=queue_name)

            async def _ack() -> None:
                await ack()
                self._held.pop(key, None)

            return _ack

        async def _keep_fresh(self) -> None:
            period = max(0.3, self.idle_timeout / 3000)
            while True:
                try:
                    async with Redis(connection_pool=self.connection_pool) as redis:
                        # "A worker is here" for the bots (see TaskQueue.workers_seen).
                        await redis.set(
                            f"{self.queue_name}:worker:{self.consumer_name}", 1, px=WORKER_SEEN_MS
                        )
                        for stream, message_id in list(self._held):
                            await redis.xclaim(
                                stream,
                                self.consumer_group_name,
                                self.consumer_name,
                                min_idle_time=0,
                                message_ids=[message_id],
                                justid=True,
                            )
                except Exception:
                    logger.warning("could not keep the held task deliveries fresh", exc_info=True)
                await asyncio.sleep(period)

        async def listen(self) -> AsyncGenerator[AckableMessage, None]:
            async with Redis(connection_pool=self.connection_pool) as redis:
                while True:
                    fetched: Any = await redis.xreadgroup(
                        self.consumer_group_name,
                        self.consumer_name,
                        {self.queue_name: ">"},
                        block=self.block,
                        noack=False,
                        count=self.count,
                    )
                    for stream, messages in fetched or []:
                        for message_id, message in messages:
                            yield AckableMessage(
                                data=message[b"data"],
                                ack=self._ack_generator(id=message_id, queue_name=stream),
                            )
                    # Deliveries of a worker that stopped keeping them fresh: it is gone, take them.
                    _, claimed, *_ = await redis.xautoclaim(
                        self.queue_name,
                        self.consumer_group_name,
                        self.consumer_name,
                        min_idle_time=self.idle_timeout,
                        count=1,
                    )
                    for message_id, message in claimed:
                        if not message:  # deleted from the stream meanwhile
                            continue
                        logger.warning("task delivery %s taken over from a worker that stopped", message_id)
                        yield AckableMessage(
                            data=message[b"data"],
                            ack=self._ack_generator(id=message_id, queue_name=self.queue_name),
                        )

    return KeptStreamBroker


def _as_bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def build_broker(
    redis_url: str | None,
    *,
    redeliver_after: float = 60.0,
    max_retries: int = 3,
    retry_delay: float = 5.0,
    queue_name: str = QUEUE_NAME,
) -> AsyncBroker:
    """The broker the settings describe: Redis streams with REDIS_URL, else in this process."""
    broker: AsyncBroker
    if redis_url:
        from taskiq_redis import RedisAsyncResultBackend

        stream = _stream_broker_class()(redis_url, redeliver_after=redeliver_after, queue_name=queue_name)
        broker = stream.with_result_backend(
            RedisAsyncResultBackend(redis_url, result_ex_time=RESULT_SECONDS, prefix_str=queue_name)
        )
    else:
        broker = InProcessBroker(max_stored_results=1000, propagate_exceptions=False)
    broker.add_middlewares(
        HoldBack(),
        SmartRetryMiddleware(
            default_retry_count=max_retries,
            default_delay=retry_delay,
            use_jitter=True,
            use_delay_exponent=True,
            max_delay_exponent=120,
        ),
    )
    return broker


def in_process(broker: AsyncBroker) -> bool:
    """Whether this broker runs its tasks here (no worker processes needed)."""
    return isinstance(broker, InMemoryBroker)


async def stop_in_process_tasks(broker: AsyncBroker) -> None:
    """Cancel the tasks an in-memory broker is running (at shutdown: they resume at the next start)."""
    running = list(getattr(broker, "_running_tasks", ()))
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
