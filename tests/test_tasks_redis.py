"""Background tasks on a real Redis stream: a book queued by the bot's side is read by a worker's side,
and a delivery taken by a worker that died is taken over by another after TASK_REDELIVER_SECONDS."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from taskiq.api import run_receiver_task

from db.models import BookStatus
from services.ingestion.service import IngestionService
from services.search.index import SearchIndex
from services.tasks.broker import build_broker
from services.tasks.work import TaskQueue
from tests.conftest import shared_data
from tests.ingestion_helpers import CountingEmbedder, ensure_users, make_index, make_service

ALICE = 101


@pytest.fixture
def queue(redis_url: str) -> str:
    return f"test:tasks:{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def cleanup(redis_url: str, queue: str) -> AsyncIterator[None]:
    yield
    client = Redis.from_url(redis_url)
    keys = [key async for key in client.scan_iter(f"{queue}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
async def index(tmp_path: Path) -> AsyncIterator[SearchIndex]:
    index = make_index(tmp_path / "qdrant")
    yield index
    await index.close()


def _queue(redis_url: str, queue: str, redeliver_after: float = 30.0) -> TaskQueue:
    return TaskQueue(build_broker(redis_url, redeliver_after=redeliver_after, queue_name=queue))


@contextlib.asynccontextmanager
async def worker(service: IngestionService) -> AsyncIterator[TaskQueue]:
    """A worker's side: the service started on a worker broker and taskiq's receiver running."""
    assert service.tasks is not None
    broker = service.tasks.broker
    broker.is_worker_process = True
    await broker.startup()
    await service.start()
    receiver = asyncio.create_task(run_receiver_task(broker, max_async_tasks=2))
    try:
        yield service.tasks
    finally:
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await receiver
        await service.stop()
        await broker.shutdown()


async def test_book_queued_by_the_bot_is_read_by_a_worker(
    session_factory: async_sessionmaker[AsyncSession],
    index: SearchIndex,
    tmp_path: Path,
    redis_url: str,
    queue: str,
    cleanup: None,
) -> None:
    await ensure_users(session_factory, ALICE)
    bot_side = make_service(session_factory, index, tmp_path / "files")
    bot_side.tasks = _queue(redis_url, queue)
    await bot_side.tasks.broker.startup()
    await bot_side.start()
    worker_side = make_service(session_factory, index, tmp_path / "files")
    worker_side.tasks = _queue(redis_url, queue)
    assert await bot_side.tasks.workers_seen() == 0
    try:
        async with worker(worker_side):
            for _ in range(100):  # the worker shows in the group once it has asked for tasks
                if await bot_side.tasks.workers_seen() == 1:
                    break
                await asyncio.sleep(0.1)
            assert await bot_side.tasks.workers_seen() == 1
            submission = await bot_side.submit(
                ALICE, shared_data("books", "gutenberg", "blake-poems.txt"), "b.txt"
            )
            # The bot's side only queued it: the worker reads it and adds its dense vectors.
            book = await bot_side.wait(submission.book.id, max_seconds=60)
            assert book is not None and book.status == BookStatus.READY and book.attempts == 1
            dense = await bot_side.wait_dense(book.id, max_seconds=60)
            assert dense is not None and not dense.dense_pending
    finally:
        await bot_side.stop()
        await bot_side.tasks.broker.shutdown()


async def test_a_dead_workers_delivery_is_taken_over(
    session_factory: async_sessionmaker[AsyncSession],
    index: SearchIndex,
    tmp_path: Path,
    redis_url: str,
    queue: str,
    cleanup: None,
) -> None:
    await ensure_users(session_factory, ALICE)
    bot_side = make_service(session_factory, index, tmp_path / "files")
    bot_side.tasks = _queue(redis_url, queue)
    await bot_side.tasks.broker.startup()
    await bot_side.start()
    # A worker that takes the delivery and dies before finishing: it never acknowledges it.
    dead = _queue(redis_url, queue, redeliver_after=1.0).broker
    await dead.startup()
    submission = await bot_side.submit(ALICE, shared_data("books", "gutenberg", "blake-poems.txt"), "b.txt")
    deliveries = dead.listen()  # closed below, not left to the garbage collector mid-shutdown
    taken = await asyncio.wait_for(anext(deliveries), 10)
    assert taken.data
    survivor = make_service(session_factory, index, tmp_path / "files")
    survivor.tasks = _queue(redis_url, queue, redeliver_after=1.0)
    try:
        async with worker(survivor):
            book = await bot_side.wait(submission.book.id, max_seconds=60)
            assert book is not None and book.status == BookStatus.READY
    finally:
        await deliveries.aclose()
        await dead.shutdown()
        await bot_side.stop()
        await bot_side.tasks.broker.shutdown()


async def test_a_password_given_to_the_bot_reaches_the_worker_and_is_not_kept(
    session_factory: async_sessionmaker[AsyncSession],
    index: SearchIndex,
    tmp_path: Path,
    redis_url: str,
    queue: str,
    cleanup: None,
) -> None:
    await ensure_users(session_factory, ALICE)
    bot_side = make_service(session_factory, index, tmp_path / "files")
    bot_side.tasks = _queue(redis_url, queue)
    await bot_side.tasks.broker.startup()
    await bot_side.start()
    worker_side = make_service(session_factory, index, tmp_path / "files")
    worker_side.tasks = _queue(redis_url, queue)
    pdf = shared_data("files", "pdf-pypdf-resources", "encryption", "r2-user-password.pdf")
    try:
        async with worker(worker_side):
            submission = await bot_side.submit(ALICE, pdf, "secret.pdf")
            asked = await bot_side.wait(submission.book.id, max_seconds=60)
            assert asked is not None and asked.error_code == "password_required"
            # The user answers the bot; the worker reads the book with it.
            assert await bot_side.retry(ALICE, asked.id, password="asdfzxcv") is not None
            book = await bot_side.wait(asked.id, max_seconds=60)
            assert book is not None and book.status == BookStatus.READY, book and book.error_code
    finally:
        await bot_side.stop()
        await bot_side.tasks.broker.shutdown()
    client = Redis.from_url(redis_url)
    try:
        assert [key async for key in client.scan_iter(f"{queue}:secret:*")] == [], "the password is gone"
    finally:
        await client.aclose()


class HeldEmbedder(CountingEmbedder):
    """Holds document batches until `gate` is set: dense vectors still being added when a worker stops."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.waiting = asyncio.Event()

    async def embed_documents(self, texts: Any) -> Any:
        self.waiting.set()
        await self.gate.wait()
        return await super().embed_documents(texts)


async def test_a_worker_stopped_mid_task_leaves_it_to_the_next(
    session_factory: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    redis_url: str,
    queue: str,
    cleanup: None,
) -> None:
    """SIGTERM's path: the worker stops taking tasks and cancels what it runs; nothing is lost."""
    await ensure_users(session_factory, ALICE)
    embedder = HeldEmbedder()
    index = make_index(tmp_path / "qdrant-held", embedder)
    bot_side = make_service(session_factory, index, tmp_path / "files")
    bot_side.tasks = _queue(redis_url, queue, redeliver_after=1.0)
    await bot_side.tasks.broker.startup()
    await bot_side.start()
    try:
        first = make_service(session_factory, index, tmp_path / "files")
        first.tasks = _queue(redis_url, queue, redeliver_after=1.0)
        async with worker(first):
            submission = await bot_side.submit(
                ALICE, shared_data("books", "gutenberg", "blake-poems.txt"), "b.txt"
            )
            book = await bot_side.wait(submission.book.id, max_seconds=60)
            assert book is not None and book.status == BookStatus.READY and book.dense_pending
            await asyncio.wait_for(embedder.waiting.wait(), 30)
        # Stopped while adding the dense vectors: handed back, not done.
        stopped = await bot_side.get(ALICE, book.id)
        assert stopped is not None and stopped.dense_pending and stopped.lease_owner is None
        embedder.gate.set()
        second = make_service(session_factory, index, tmp_path / "files")
        second.tasks = _queue(redis_url, queue, redeliver_after=1.0)
        async with worker(second):
            done = await bot_side.wait_dense(book.id, max_seconds=60)
        assert done is not None and not done.dense_pending
    finally:
        await bot_side.stop()
        await bot_side.tasks.broker.shutdown()
        await index.close()
