"""The background tasks: small, idempotent, keyed by a database id.

Each task looks its service up in the broker's state (set where the services are built, in every process
that runs tasks: the worker at its start, or the bot itself with the in-memory broker) and asks it to
do one unit of work. The durable truth is in the database (a book's status, a broadcast's deliveries),
so a task delivered twice, or again after its worker died, carries on from there and repeats nothing:
a ready book is left alone, a delivery already claimed is never sent again.

`TaskQueue` is how the services enqueue: `read_book`, `add_dense`, `send_broadcast`.
"""

from __future__ import annotations

import logging
from typing import Any

from taskiq import AsyncBroker, TaskiqDepends, TaskiqState

logger = logging.getLogger(__name__)

READ_BOOK = "books.read"
ADD_DENSE = "books.add_dense"
SEND_BROADCAST = "broadcasts.send"


class ServiceMissing(Exception):
    """The process running the task has not built the service it needs."""


_STATE: TaskiqState = TaskiqDepends()  # the broker's state, handed to each task by taskiq


def _service(state: TaskiqState, name: str) -> Any:
    service = getattr(state, name, None)
    if service is None:
        raise ServiceMissing(name)
    return service


async def read_book(book_id: int, state: TaskiqState = _STATE) -> str:
    """Read, chunk and index one book (or copy another user's identical one); returns its status."""
    return str(await _service(state, "ingestion").run_read(book_id))


async def add_dense(book_id: int, state: TaskiqState = _STATE) -> bool:
    """Add a ready book's dense vectors; True when they are all in."""
    return bool(await _service(state, "ingestion").run_dense(book_id))


async def send_broadcast(broadcast_id: int, state: TaskiqState = _STATE) -> str:
    """Send a running broadcast to everyone still pending; returns its status."""
    return str(await _service(state, "broadcasts").run(broadcast_id))


class TaskQueue:
    """The tasks registered on one broker, and the way services enqueue them."""

    def __init__(self, broker: AsyncBroker) -> None:
        self.broker = broker
        self._secrets: dict[str, str] = {}
        self._tasks: dict[str, Any] = {
            READ_BOOK: broker.register_task(read_book, task_name=READ_BOOK, retry_on_error=True),
            ADD_DENSE: broker.register_task(add_dense, task_name=ADD_DENSE, retry_on_error=True),
            SEND_BROADCAST: broker.register_task(
                send_broadcast, task_name=SEND_BROADCAST, retry_on_error=True
            ),
        }

    @property
    def state(self) -> TaskiqState:
        return self.broker.state

    @property
    def in_process(self) -> bool:
        """Whether tasks run in this process (no REDIS_URL): its queue ends with it."""
        from services.tasks.broker import in_process

        return in_process(self.broker)

    def provide(self, **services: Any) -> None:
        """Make services reachable to the tasks run in this process."""
        for name, service in services.items():
            setattr(self.broker.state, name, service)

    async def workers_seen(self) -> int | None:
        """How many workers are alive (each renews a key while it runs); None with the in-memory broker."""
        if self.in_process:
            return None
        pattern = f"{self.broker.queue_name}:worker:*"  # type: ignore[attr-defined]
        async with self._redis() as redis:
            return len([key async for key in redis.scan_iter(pattern)])

    # Short-lived secrets a task needs but its message must not carry (the stream keeps messages): a
    # protected PDF's password, from the bot that got it to the worker that reads the book. In Redis
    # with an expiry; in this process's memory with the in-memory broker.

    async def put_secret(self, key: str, value: str, *, seconds: int = 3600) -> None:
        if self.in_process:
            self._secrets[key] = value
            return
        async with self._redis() as redis:
            await redis.set(self._secret_key(key), value, ex=seconds)

    async def get_secret(self, key: str) -> str | None:
        if self.in_process:
            return self._secrets.get(key)
        async with self._redis() as redis:
            value = await redis.get(self._secret_key(key))
        return value.decode() if isinstance(value, bytes) else value

    async def drop_secret(self, key: str) -> None:
        if self.in_process:
            self._secrets.pop(key, None)
            return
        async with self._redis() as redis:
            await redis.delete(self._secret_key(key))

    def _secret_key(self, key: str) -> str:
        return f"{getattr(self.broker, 'queue_name', 'tasks')}:secret:{key}"

    def _redis(self) -> Any:
        from redis.asyncio import Redis

        return Redis(connection_pool=self.broker.connection_pool)  # type: ignore[attr-defined]

    async def _kick(self, name: str, key: int, delay: float = 0.0) -> Any:
        kicker = self._tasks[name].kicker()
        if delay > 0:
            kicker = kicker.with_labels(delay=round(delay, 3))
        return await kicker.kiq(key)

    async def read_book(self, book_id: int, *, delay: float = 0.0) -> Any:
        return await self._kick(READ_BOOK, book_id, delay)

    async def add_dense(self, book_id: int) -> Any:
        return await self._kick(ADD_DENSE, book_id)

    async def send_broadcast(self, broadcast_id: int) -> Any:
        return await self._kick(SEND_BROADCAST, broadcast_id)
