"""Books in: store the upload, then read -> chunk -> index in the background, durably.

`IngestionService.submit` saves the file under DATA_DIR/files/<sha256>, records a pending book and
enqueues the `read_book` task (services/tasks). Whichever process runs that task (a `librarity worker`,
or the bot itself without REDIS_URL) claims the book, runs extraction and chunking in a process pool
(never on the event loop), indexes the chunks' words (lexical vectors: no model, a second or two) and
marks the book ready, so the user can talk to it within seconds; then the `add_dense` task adds the dense
vectors (the embedding model, most of the work); the book's `dense_pending` says whether they are all in.
Status, stage, progress and attempts live in the database: a task delivered again after its worker died
takes the book over from there (and a book that keeps killing its workers fails as "interrupted").
`lease_owner` names the process working on a book, so one that was taken over drops its results.
Listeners in the process doing the work get progress events for the chat.

Nothing here talks to Telegram or produces user text: outcomes are statuses and error codes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import utcnow
from db.models import Book, BookStatus
from db.repositories import books as repo
from services.ingestion.errors import IngestionError
from services.ingestion.pipeline import ReadOptions, ReadResult, check_copy, read_book, warm_up
from services.ingestion.shelf import BookFiles, Shelf
from services.ingestion.shelf import clip as _clip

if TYPE_CHECKING:
    from services.config import ServiceSettings
    from services.search.chunking import Chunk
    from services.tasks.work import TaskQueue

logger = logging.getLogger(__name__)

MiB = 1024 * 1024
_T = TypeVar("_T")


class FailureCode(StrEnum):
    """Why a book failed when the file itself is not to blame (extraction's codes are in errors.py)."""

    INTERNAL = "internal"  # we failed on every attempt (the index or disk was down...)
    TIMEOUT = "timeout"  # reading took longer than INGESTION_TIMEOUT_SECONDS
    INTERRUPTED = "interrupted"  # the process died while reading this book, on every attempt
    FILE_MISSING = "file_missing"  # the stored upload is gone; the user has to send it again


class Stage(StrEnum):
    """What progress listeners are told; `fraction` is the whole book's progress, 0..1."""

    QUEUED = "queued"
    READING = "reading"
    INDEXING = "indexing"
    COPYING = "copying"
    READY = "ready"
    FAILED = "failed"
    # After READY: the book's dense vectors are in, so search by meaning works for it too.
    DENSE = "dense"


# How much of the bar each stage fills, so one bar can cover the whole book.
_READING_END = 0.25
_INDEX_START = 0.3
_COPIED_FIELDS = ("title", "author", "language", "format", "pages", "chapters", "chars", "chunks")


class BookIndex(Protocol):
    """What ingestion needs from the search index (services/search/index.py: SearchIndex)."""

    async def index_chunks(
        self,
        user_id: int,
        book_id: int,
        language: str | None,
        chunks: Sequence[Chunk],
        progress: Callable[[int, int], Awaitable[None]] | None = None,
        *,
        dense: bool = True,
    ) -> Any: ...

    async def add_dense(self, user_id: int, book_id: int, chunks: Sequence[Any]) -> Any: ...

    async def delete_book(self, user_id: int, book_id: int) -> Any: ...

    async def copy_book(self, src_user: int, src_book: int, dst_user: int, dst_book: int) -> Any: ...


ProgressListener = Callable[[Book, str, float], Awaitable[None]]
# Runs after the text is read and before anything is indexed (or copied); the billing feature charges
# here. Raising IngestionRejected stops the book with that code (no retry).
BeforeIndexHook = Callable[[Book], Awaitable[None]]


class IngestionRejected(Exception):
    """A before-index hook refuses the book (e.g. not enough credits); `code` goes to the chat."""

    def __init__(self, code: str, **details: Any) -> None:
        self.code = code
        self.details = details
        super().__init__(code, details)


class UploadNotStored(Exception):
    """The upload could not be saved under DATA_DIR/files (the disk is full, or the folder cannot be
    written): no book was made, nothing is left behind."""


@dataclass(frozen=True, slots=True)
class Submission:
    """What `submit` did: `new` (will be read), `reuse` (another user's identical file: copied),
    `retry` (this user's earlier failed upload of the same file, queued again) or `duplicate`
    (already on the shelf or on its way; nothing new happens)."""

    book: Book
    outcome: Literal["new", "reuse", "retry", "duplicate"]


@dataclass(frozen=True, slots=True)
class IngestionConfig:
    files_dir: Path
    max_file_bytes: int = 50 * MiB
    max_pages: int | None = None
    allow_active_pdf: bool = False
    workers: int = 1
    max_attempts: int = 3
    executor: Literal["process", "thread"] = "process"
    timeout_seconds: float = 1800.0
    retry_delays: tuple[float, ...] = (5.0, 30.0, 120.0)
    progress_write_seconds: float = 1.0  # at most one progress write to the database per this
    # The reader process stops after this long without a book to read (its ~50-80 MB back), and starts
    # again for the next one (about a second more to that book's ready); 0 keeps it for good.
    reader_idle_seconds: float = 300.0
    # A book that failed for good keeps its file this long, so an admin can reprocess it.
    failed_file_days: int = 7

    @classmethod
    def from_settings(cls, settings: ServiceSettings, **overrides: Any) -> IngestionConfig:
        values: dict[str, Any] = {
            "files_dir": settings.files_dir,
            "max_file_bytes": settings.max_file_mb * MiB,
            "max_pages": settings.max_pages,
            "allow_active_pdf": settings.allow_active_pdf,
            "workers": max(1, settings.ingestion_workers),
            "max_attempts": max(1, settings.ingestion_max_attempts),
            "failed_file_days": settings.failed_book_file_days,
        }
        for name in ("executor", "timeout_seconds"):
            value = getattr(settings, f"ingestion_{name}", None)
            if value is not None:
                values[name] = value
        values.update(overrides)
        return cls(**values)


@dataclass
class _Running:
    task: asyncio.Task[None]
    stage: str = Stage.READING
    indexed: bool = field(default=False)  # vectors may exist: clean them if the book fails


def _owner_id() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


def _json_safe(details: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(json.dumps(details, default=str))
    return result


async def _stopped_or_done(task: asyncio.Task[_T], *, stopping: Callable[[], bool]) -> _T | None:
    """Wait for a book's work. Cancelled by a delete: None, the delivery is done. Cancelled because the
    process stops (or the caller is): raised, so the delivery is not acknowledged and runs again."""
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():  # the caller itself was cancelled
            task.cancel()
            await asyncio.wait([task])
            raise
        if stopping():
            raise
        return None


class IngestionService:
    """Takes books in and drives them to ready or failed; see the module docstring."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        index: BookIndex,
        config: IngestionConfig,
        tasks: TaskQueue | None = None,
    ) -> None:
        self._sessions = session_factory
        self._index = index
        self.config = config
        self.files = BookFiles(
            session_factory, config.files_dir, config.max_file_bytes, config.failed_file_days
        )
        self.books = Shelf(
            session_factory, index, self.files, before_delete=self._stop_work_on, after_delete=self._deleted
        )
        # Where books are queued; None: a broker of its own in this process, made at start.
        self.tasks = tasks
        self._own_tasks = False
        self.owner = _owner_id()
        self._listeners: list[ProgressListener] = []
        self.before_index: list[BeforeIndexHook] = []
        self._running: dict[int, _Running] = {}
        self._deleting: set[int] = set()
        self._finished: dict[int, asyncio.Event] = {}
        # Passwords live only in memory, only until the book is done; a restart asks again.
        self._passwords: dict[int, str] = {}
        self._executor: Executor | None = None
        self._cpu_busy = 0
        self._idle_reader: asyncio.TimerHandle | None = None
        self._started = False
        self._reading = asyncio.Semaphore(max(1, config.workers))  # books read at once in this process
        # Dense vectors behind ready books: one book at a time in this process, after the reading work.
        self._dense = asyncio.Semaphore(1)
        self._dense_running: dict[int, asyncio.Task[Any]] = {}
        self._dense_done: dict[int, asyncio.Event] = {}

    # ---------------------------------------------------------------- life cycle

    @property
    def running(self) -> bool:
        return self._started

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self._sessions

    async def start(self, *, resume: bool | None = None) -> None:
        """Make the tasks reach this service here. With the in-process broker (`resume` None) queue again
        what an earlier run left unfinished; with Redis the stream still holds it."""
        if self._started:
            return
        self._started = True
        self._executor = self._new_executor()
        if self.tasks is None:
            from services.tasks.broker import build_broker
            from services.tasks.work import TaskQueue

            self.tasks = TaskQueue(build_broker(None))
            self._own_tasks = True
            await self.tasks.broker.startup()
        self.tasks.provide(ingestion=self)
        if resume is None:
            from services.tasks.broker import in_process

            resume = in_process(self.tasks.broker)
        if resume:
            await self.resume()

    async def stop(self) -> None:
        """Stop the books worked on here; each goes back to pending (not counted as an attempt)."""
        if not self._started:
            return
        self._started = False
        tasks = [
            *(running.task for running in self._running.values()),
            *self._dense_running.values(),
        ]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._own_tasks and self.tasks is not None:
            from services.tasks.broker import stop_in_process_tasks

            await stop_in_process_tasks(self.tasks.broker)
            await self.tasks.broker.shutdown()
            self.tasks, self._own_tasks = None, False
        if self._idle_reader is not None:
            self._idle_reader.cancel()
            self._idle_reader = None
        self._shutdown_executor(kill=True)

    def subscribe(self, listener: ProgressListener) -> Callable[[], None]:
        """Call `listener(book, stage, fraction)` on every progress event; returns an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    # ---------------------------------------------------------------- the user's side

    async def submit(
        self,
        user_id: int,
        source: bytes | Path,
        file_name: str,
        *,
        password: str | None = None,
        chat_id: int | None = None,
        message_id: int | None = None,
        queue: bool = True,
    ) -> Submission:
        """Store the file and queue the book; raises IngestionError(empty_file | too_large) at once, and
        UploadNotStored when the disk refuses the file. With `queue=False` the caller queues it with
        `queue(book_id)` once it is ready for others to show its progress (its own last edit is out)."""
        try:
            sha256, size = await asyncio.to_thread(self.files.store, source)
        except OSError as error:
            logger.error("an upload of user %s could not be saved: %s", user_id, error)
            raise UploadNotStored(str(error)) from error
        file_name = _clip(Path(file_name or "book").name, 255) or "book"
        async with self._sessions() as session:
            outcome: Literal["new", "reuse", "retry", "duplicate"]
            book = await repo.find_by_sha(session, user_id, sha256)
            if book is not None and book.status == BookStatus.FAILED:
                self._reset_for_retry(book, chat_id, message_id)
                outcome = "retry"
            elif book is not None:
                outcome = "duplicate"
            else:
                source_book = await repo.find_ready_source(session, sha256, exclude_user=user_id)
                book = Book(
                    user_id=user_id,
                    file_sha256=sha256,
                    file_name=file_name,
                    file_size=size,
                    status=BookStatus.PENDING,
                    stage=Stage.QUEUED,
                    progress=0.0,
                    attempts=0,
                    chunks=0,
                    source_book_id=source_book.id if source_book else None,
                    chat_id=chat_id,
                    progress_message_id=message_id,
                )
                outcome = "reuse" if source_book else "new"
                try:
                    async with session.begin_nested():
                        session.add(book)
                except IntegrityError:
                    # The same file twice at once: the other upload made the book.
                    book = await repo.find_by_sha(session, user_id, sha256)
                    assert book is not None
                    outcome = "duplicate"
            await session.commit()
        if outcome == "duplicate":
            await self.files.release(sha256)
        else:
            if password:
                await self._keep_password(book.id, password)
            if queue:
                await self._enqueue(book.id)
        logger.info("book %s for user %s: %s (%s, %d bytes)", book.id, user_id, outcome, sha256[:12], size)
        return Submission(book=book, outcome=outcome)

    async def queue(self, book_id: int) -> None:
        """Queue a book that `submit(queue=False)` recorded."""
        await self._enqueue(book_id)

    async def retry(
        self,
        user_id: int,
        book_id: int,
        *,
        password: str | None = None,
        chat_id: int | None = None,
        message_id: int | None = None,
    ) -> Book | None:
        """Queue a failed book again (with a password for a protected PDF); None if there is none.

        `chat_id`/`message_id` move its progress to another message."""
        async with self._sessions() as session:
            book = await repo.get_for_user(session, user_id, book_id)
            if book is None or book.status != BookStatus.FAILED:
                return None
            if not self.files.path(book.file_sha256).exists():
                return None
            if message_id is not None:
                chat_id = chat_id if chat_id is not None else book.chat_id
            else:
                chat_id, message_id = book.chat_id, book.progress_message_id
            self._reset_for_retry(book, chat_id, message_id)
            await session.commit()
        if password:
            await self._keep_password(book.id, password)
        await self._enqueue(book.id)
        return book

    # The shelf's side, kept here for the handlers: see Shelf (services/ingestion/shelf.py).

    async def attach_message(self, book_id: int, chat_id: int, message_id: int) -> None:
        await self.books.attach_message(book_id, chat_id, message_id)

    async def get(self, user_id: int, book_id: int) -> Book | None:
        return await self.books.get(user_id, book_id)

    async def shelf(self, user_id: int, *, offset: int = 0, limit: int = 8) -> tuple[list[Book], int]:
        return await self.books.page(user_id, offset=offset, limit=limit)

    async def active_book_id(self, user_id: int) -> int | None:
        return await self.books.active_book_id(user_id)

    async def set_active(self, user_id: int, book_id: int) -> Book | None:
        return await self.books.set_active(user_id, book_id)

    async def rename(self, user_id: int, book_id: int, title: str) -> Book | None:
        return await self.books.rename(user_id, book_id, title)

    async def delete(self, user_id: int, book_id: int) -> bool:
        return await self.books.delete(user_id, book_id)

    async def _stop_work_on(self, book_id: int) -> None:
        """Before a delete: stop what this process does on the book (another process drops its work
        when it finds the book gone)."""
        self._deleting.add(book_id)
        for task in (getattr(self._running.get(book_id), "task", None), self._dense_running.get(book_id)):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
                await asyncio.wait([task])

    def _deleted(self, book_id: int) -> None:
        self._deleting.discard(book_id)
        self._passwords.pop(book_id, None)
        self._notify_final(book_id)
        self._notify_dense(book_id)

    async def wait(self, book_id: int, max_seconds: float | None = None) -> Book | None:
        """Wait until the book is ready or failed (or deleted: None)."""
        return await self._wait_until(book_id, self._finished, lambda book: book.is_final, max_seconds)

    async def wait_dense(self, book_id: int, max_seconds: float | None = None) -> Book | None:
        """Wait until a ready book's dense vectors are all in (or it failed, or was deleted: None)."""

        def done(book: Book) -> bool:
            return book.status == BookStatus.FAILED or (
                book.status == BookStatus.READY and not book.dense_pending
            )

        return await self._wait_until(book_id, self._dense_done, done, max_seconds)

    async def _wait_until(
        self,
        book_id: int,
        events: dict[int, asyncio.Event],
        done: Callable[[Book], bool],
        max_seconds: float | None,
    ) -> Book | None:
        async def poll() -> Book | None:
            while True:
                event = events.setdefault(book_id, asyncio.Event())
                async with self._sessions() as session:
                    book = await repo.get(session, book_id, fresh=True)
                if book is None or done(book):
                    return book
                # Another process may finish it too, so look again now and then.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), 2.0)

        return await asyncio.wait_for(poll(), max_seconds)

    async def ingest(
        self,
        user_id: int,
        source: bytes | Path,
        file_name: str,
        *,
        max_seconds: float | None = None,
        dense: bool = True,
    ) -> Book:
        """Submit and wait for the outcome, with its dense vectors unless `dense=False` (the CLI and
        the benchmark); needs `start()` first."""
        submission = await self.submit(user_id, source, file_name)
        book = await self.wait(submission.book.id, max_seconds)
        if dense and book is not None and book.status == BookStatus.READY:
            book = await self.wait_dense(book.id, max_seconds)
        return book or submission.book

    # ---------------------------------------------------------------- resume and queue

    async def resume(self, *, quiet: bool = False) -> int:
        """Queue every unfinished book and every ready one still owed dense vectors (the in-process broker
        at start: its queue died with the last run). A book held by another live process on this machine
        (`librarity ingest` beside the bot) is left to it. Returns how many books were queued."""
        queued = 0
        async with self._sessions() as session:
            books = await repo.unfinished(session)
            dense = await repo.dense_pending(session)
        for book in books:
            if book.id in self._running or self._holder_alive(book):
                continue
            delay = 0.0
            if book.next_attempt_at is not None:
                delay = max(0.0, (book.next_attempt_at - utcnow()).total_seconds())
            await self._enqueue(book.id, delay=delay)
            queued += 1
        if queued and not quiet:
            logger.info("ingestion: resuming %d unfinished book(s)", queued)
        added = 0
        for book in dense:
            if book.id in self._dense_running or self._holder_alive(book):
                continue
            await self._enqueue_dense(book.id)
            added += 1
        if added and not quiet:
            logger.info("ingestion: adding dense vectors to %d ready book(s)", added)
        return queued

    def _holder_alive(self, book: Book) -> bool:
        """Whether another process on this machine that is still alive works on the book."""
        if book.lease_owner is None or book.lease_owner == self.owner:
            return False
        host, _, rest = book.lease_owner.partition(":")
        pid_text = rest.partition(":")[0]
        if host != socket.gethostname()[:60] or not pid_text.isdigit():
            return False  # another machine: with the in-process broker there is none
        pid = int(pid_text)
        if pid == os.getpid():
            return False  # a previous service of this process that stopped badly
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    # A protected PDF's password lives only until its book is done (a restart asks again): here, and
    # for the worker that reads the book, in the task queue's short-lived secrets.

    async def _keep_password(self, book_id: int, password: str) -> None:
        self._passwords[book_id] = password
        if self.tasks is not None:
            await self.tasks.put_secret(f"book:{book_id}:password", password)

    async def _password(self, book_id: int) -> str | None:
        password = self._passwords.get(book_id)
        if password is None and self.tasks is not None:
            password = await self.tasks.get_secret(f"book:{book_id}:password")
        return password

    async def _forget_password(self, book_id: int) -> None:
        self._passwords.pop(book_id, None)
        if self.tasks is not None:
            with contextlib.suppress(Exception):
                await self.tasks.drop_secret(f"book:{book_id}:password")

    async def _enqueue(self, book_id: int, *, delay: float = 0.0) -> None:
        if self.tasks is None:
            return  # not started: the book waits in the database, queued by resume() at start
        await self.tasks.read_book(book_id, delay=delay)

    async def _enqueue_dense(self, book_id: int) -> None:
        if self.tasks is None:
            return  # not started: the book waits in the database, queued by resume() at start
        await self.tasks.add_dense(book_id)

    async def run_read(self, book_id: int) -> str:
        """The `read_book` task: take the book (pending, or processing by a worker that died) and drive it
        to ready, failed or a later attempt. Returns the book's status afterwards."""
        if book_id in self._running:
            return "duplicate"  # this process works on it already
        async with self._reading:
            # Its own asyncio task, so that deleting the book stops it and the delivery still ends well.
            task = asyncio.create_task(self._process(book_id), name=f"ingest-book-{book_id}")
            self._running[book_id] = _Running(task)
            try:
                await _stopped_or_done(task, stopping=lambda: not self._started)
            finally:
                self._running.pop(book_id, None)
        async with self._sessions() as session:
            book = await repo.get(session, book_id, fresh=True)
        return str(book.status) if book is not None else "deleted"

    # ---------------------------------------------------------------- one book

    async def _process(self, book_id: int) -> None:
        now = utcnow()
        async with self._sessions() as session:
            current = await repo.get(session, book_id, fresh=True)
        if current is None or current.status not in (BookStatus.PENDING, BookStatus.PROCESSING):
            return  # deleted, or done by an earlier delivery
        if current.status == BookStatus.PROCESSING and current.attempts >= self.config.max_attempts:
            await self._interrupted(current)  # its workers died on it every time
            return
        async with self._sessions() as session:
            claimed = await repo.claim(
                session, book_id, owner=self.owner, now=now, holder=current.lease_owner
            )
            await session.commit()
            book = await repo.get(session, book_id, fresh=True) if claimed else None
        if book is None:
            return
        if current.status == BookStatus.PROCESSING:
            logger.warning("book %s: taken over from %s, which stopped", book_id, current.lease_owner)
        try:
            if book.source_book_id is not None and await self._copy_from_source(book):
                return
            await self._read_and_index(book)
        except asyncio.CancelledError:
            if book_id not in self._deleting:
                await self._give_back(book)
            raise
        except IngestionError as error:
            await self._fail(book, error.code.value, error.details)
        except IngestionRejected as error:
            await self._fail(book, error.code, error.details)
        except Exception as error:
            await self._transient_failure(book, error)

    async def _interrupted(self, book: Book) -> None:
        """A book whose worker died on each of its attempts: failed, so it stops taking workers down."""
        async with self._sessions() as session:
            done = await repo.release_stale(
                session,
                book.id,
                book.lease_owner,
                status=BookStatus.FAILED,
                stage=Stage.FAILED,
                error_code=FailureCode.INTERRUPTED,
                lease_owner=None,
                lease_expires_at=None,
            )
            await session.commit()
            fresh = await repo.get(session, book.id, fresh=True) if done else None
        if fresh is None:
            return
        logger.warning("book %s: its worker stopped on every attempt; failed", book.id)
        await self._cleanup_failed(fresh, vectors=True)
        await self._emit(fresh, Stage.FAILED, fresh.progress)
        self._notify_final(book.id)

    async def _read_and_index(self, book: Book) -> None:
        path = self.files.path(book.file_sha256)
        if not path.exists():
            await self._fail(book, FailureCode.FILE_MISSING, {})
            return
        await self._emit(book, Stage.READING, 0.02)
        options = ReadOptions(
            allow_active_pdf=self.config.allow_active_pdf,
            max_bytes=self.config.max_file_bytes,
            max_pages=self.config.max_pages,
        )
        password = await self._password(book.id)
        result = await self._run_cpu(read_book, str(path), book.file_name, password, options)
        await self._apply_metadata(book, result)
        await self._emit(book, Stage.READING, _READING_END)
        for hook in self.before_index:
            await hook(book)
        started = time.perf_counter()
        await self._index_chunks(book, result.chunks)
        timings = {**result.timings, "indexing": round(time.perf_counter() - started, 3)}
        rows = [
            {
                "seq": chunk.seq,
                "text": chunk.text,
                "page": chunk.page,
                "chapter": _clip(chunk.chapter, 512),
                "percent": chunk.percent,
                "char_start": chunk.char_start,
                "char_end": chunk.char_end,
            }
            for chunk in result.chunks
        ]
        await self._finish(book, rows=rows, timings=timings, dense_pending=True)

    async def _copy_from_source(self, book: Book) -> bool:
        """Reuse another user's identical book: copy its rows and vectors. False if it is gone (or this
        upload's file is: then reading it says so).

        The work is reused, never the access or the name: a protected PDF must open with this user's
        own password first (else it fails with password_required / wrong_password and waits for one),
        and a title made from the first uploader's file name is made from this user's instead."""
        async with self._sessions() as session:
            source = await repo.get(session, book.source_book_id or 0)
        if source is None or source.status != BookStatus.READY or source.file_sha256 != book.file_sha256:
            await self._set(book, source_book_id=None)
            return False
        path = self.files.path(book.file_sha256)
        if not path.exists():
            return False
        password = await self._password(book.id)
        titles = await self._run_cpu(check_copy, str(path), book.file_name, password, source.file_name)
        copied = {name: getattr(source, name) for name in _COPIED_FIELDS}
        if source.title == _clip(titles.source_title, 512):
            copied["title"] = _clip(titles.own_title, 512)
        for name, value in copied.items():
            setattr(book, name, value)
        await self._set(book, **copied)
        await self._emit(book, Stage.COPYING, _INDEX_START)
        for hook in self.before_index:
            await hook(book)
        started = time.perf_counter()
        self._mark_indexed(book.id)
        await self._index.copy_book(source.user_id, source.id, book.user_id, book.id)
        await self._finish(
            book,
            copy_from=source.id,
            timings={"copying": round(time.perf_counter() - started, 3)},
            # Copied while the source's dense vectors were still coming: add them here too.
            dense_pending=source.dense_pending,
        )
        return True

    async def _apply_metadata(self, book: Book, result: ReadResult) -> None:
        values = {
            "title": _clip(result.title, 512) or _clip(Path(book.file_name).stem, 512),
            "author": _clip(result.author, 512),
            "language": (result.language or "")[:8] or None,
            "format": result.format,
            "pages": result.pages,
            "chapters": result.chapters,
            "chars": result.chars,
            "chunks": len(result.chunks),
            "stage": Stage.INDEXING,
            "progress": _INDEX_START,
        }
        for name, value in values.items():
            setattr(book, name, value)
        await self._set(book, **values)

    async def _index_chunks(self, book: Book, chunks: list[Chunk]) -> None:
        """The lexical side only: the book is searchable by its words as soon as this ends."""
        last_write = time.monotonic()

        async def progress(done: int, total: int) -> None:
            nonlocal last_write
            fraction = _INDEX_START + (1 - _INDEX_START) * (done / total if total else 1.0)
            book.progress = fraction
            if time.monotonic() - last_write >= self.config.progress_write_seconds:
                last_write = time.monotonic()
                await self._set(book, progress=fraction)
            await self._emit(book, Stage.INDEXING, fraction)

        self._mark_indexed(book.id)
        await self._emit(book, Stage.INDEXING, _INDEX_START)
        await self._index.index_chunks(book.user_id, book.id, book.language, chunks, progress, dense=False)

    async def _finish(
        self,
        book: Book,
        *,
        rows: list[dict[str, Any]] | None = None,
        copy_from: int | None = None,
        timings: dict[str, float] | None = None,
        dense_pending: bool = False,
    ) -> None:
        """Ready: status, chunks and the user's active book in one transaction."""
        now = utcnow()
        async with self._sessions() as session:
            done = await repo.owned(
                session,
                book.id,
                self.owner,
                status=BookStatus.READY,
                stage=Stage.READY,
                progress=1.0,
                ready_at=now,
                error_code=None,
                error_details=None,
                lease_owner=None,
                lease_expires_at=None,
                timings=timings,
                dense_pending=dense_pending,
            )
            if not done:
                await session.rollback()
                await self._lost_claim(book)
                return
            if copy_from is not None:
                await repo.copy_chunks(session, copy_from, book.id)
            else:
                await repo.replace_chunks(session, book.id, rows or [])
            await repo.set_active(session, book.user_id, book.id)
            await session.commit()
            fresh = await repo.get(session, book.id, fresh=True)
        await self._forget_password(book.id)
        await self.files.release(book.file_sha256)
        if fresh is not None:
            logger.info("book %s ready: %s chunks, %s", book.id, fresh.chunks, timings)
            await self._emit(fresh, Stage.READY, 1.0)
        self._notify_final(book.id)
        if dense_pending:
            await self._enqueue_dense(book.id)

    async def _fail(self, book: Book, code: str, details: dict[str, Any]) -> None:
        async with self._sessions() as session:
            done = await repo.owned(
                session,
                book.id,
                self.owner,
                status=BookStatus.FAILED,
                stage=Stage.FAILED,
                error_code=str(code),
                error_details=_json_safe(details),
                lease_owner=None,
                lease_expires_at=None,
                next_attempt_at=None,
            )
            await session.commit()
            fresh = await repo.get(session, book.id, fresh=True) if done else None
        if fresh is None:
            await self._lost_claim(book)
            return
        logger.info("book %s failed: %s %s", book.id, code, details)
        await self._cleanup_failed(fresh, vectors=self._was_indexed(book.id))
        await self._emit(fresh, Stage.FAILED, fresh.progress)
        self._notify_final(book.id)

    async def _transient_failure(self, book: Book, error: BaseException) -> None:
        if isinstance(error, BrokenProcessPool):
            self._shutdown_executor(kill=True)
            self._executor = self._new_executor()
        async with self._sessions() as session:
            current = await repo.get(session, book.id, fresh=True)
        attempts = current.attempts if current is not None else book.attempts
        if attempts >= self.config.max_attempts:
            logger.error("book %s failed after %d attempts", book.id, attempts, exc_info=error)
            await self._fail(book, FailureCode.INTERNAL, {"reason": type(error).__name__})
            return
        delays = self.config.retry_delays or (0.0,)
        delay = delays[min(attempts - 1, len(delays) - 1)]
        logger.warning("book %s: attempt %d failed (%r); retrying in %.0fs", book.id, attempts, error, delay)
        async with self._sessions() as session:
            done = await repo.owned(
                session,
                book.id,
                self.owner,
                status=BookStatus.PENDING,
                stage=Stage.QUEUED,
                error_details={"reason": type(error).__name__},
                lease_owner=None,
                lease_expires_at=None,
                next_attempt_at=utcnow() + timedelta(seconds=delay),
            )
            await session.commit()
        if done:
            await self._emit(book, Stage.QUEUED, book.progress or 0.0)
            await self._enqueue(book.id, delay=delay)

    async def _give_back(self, book: Book) -> None:
        """On shutdown: back to pending, and this attempt does not count."""
        try:
            async with self._sessions() as session:
                await repo.owned(
                    session,
                    book.id,
                    self.owner,
                    status=BookStatus.PENDING,
                    stage=Stage.QUEUED,
                    attempts=max(0, book.attempts - 1),
                    lease_owner=None,
                    lease_expires_at=None,
                )
                await session.commit()
        except Exception:
            logger.exception("book %s: could not give it back on shutdown", book.id)

    async def _lost_claim(self, book: Book) -> None:
        """The book was deleted (or taken over) while we worked: drop what we indexed if it is gone."""
        async with self._sessions() as session:
            exists = await repo.get(session, book.id) is not None
        if not exists and self._was_indexed(book.id):
            with contextlib.suppress(Exception):
                await self._index.delete_book(book.user_id, book.id)
        self._notify_final(book.id)

    async def _cleanup_failed(self, book: Book, *, vectors: bool) -> None:
        if vectors:
            try:
                await self._index.delete_book(book.user_id, book.id)
            except Exception:
                logger.exception("book %s: could not remove its vectors", book.id)
        if book.error_code not in repo.PASSWORD_CODES:
            await self._forget_password(book.id)
        await self.files.release(book.file_sha256)

    async def _set(self, book: Book, **values: Any) -> None:
        async with self._sessions() as session:
            await repo.owned(session, book.id, self.owner, **values)
            await session.commit()

    async def _emit(self, book: Book, stage: str, fraction: float) -> None:
        running = self._running.get(book.id)
        if running is not None:
            running.stage = stage
        for listener in list(self._listeners):
            try:
                await listener(book, stage, fraction)
            except Exception:
                logger.exception("ingestion progress listener failed")

    # ---------------------------------------------------------------- dense vectors behind ready books

    async def run_dense(self, book_id: int) -> bool:
        """The `add_dense` task: add a ready book's dense vectors (taking them over from a worker that
        died). True when they are all in; a failure is raised, so the task is retried with backoff."""
        if book_id in self._dense_running:
            return False
        async with self._dense:
            task = asyncio.create_task(self._add_dense(book_id), name=f"dense-book-{book_id}")
            self._dense_running[book_id] = task
            try:
                return bool(await _stopped_or_done(task, stopping=lambda: not self._started))
            finally:
                self._dense_running.pop(book_id, None)
                self._notify_dense(book_id)

    async def _add_dense(self, book_id: int) -> bool:
        now = utcnow()
        async with self._sessions() as session:
            book = await repo.get(session, book_id, fresh=True)
            if book is None or book.status != BookStatus.READY or not book.dense_pending:
                return book is not None and book.status == BookStatus.READY
            claimed = await repo.claim_dense(
                session, book_id, owner=self.owner, lease_until=None, now=now, stale_owner=book.lease_owner
            )
            await session.commit()
            rows = await repo.chunks(session, book_id) if claimed else []
        if not claimed:
            return False
        started = time.perf_counter()
        try:
            await self._index.add_dense(book.user_id, book_id, rows)
        except BaseException:  # stopping, deleting or failing: the next delivery takes it from here
            await self._release_dense(book_id, done=False)
            raise
        await self._release_dense(book_id, done=True)
        logger.info("book %s: dense vectors in, %.1fs", book_id, time.perf_counter() - started)
        async with self._sessions() as session:
            done = await repo.get(session, book_id, fresh=True)
        if done is not None and not done.dense_pending:
            await self._emit(done, Stage.DENSE, 1.0)
            return True
        return False

    async def _release_dense(self, book_id: int, *, done: bool) -> None:
        try:
            async with self._sessions() as session:
                await repo.release_dense(session, book_id, self.owner, done=done)
                await session.commit()
        except Exception:
            logger.warning("book %s: could not record its dense vectors", book_id, exc_info=True)

    def _notify_dense(self, book_id: int) -> None:
        event = self._dense_done.pop(book_id, None)
        if event is not None:
            event.set()

    def _notify_final(self, book_id: int) -> None:
        event = self._finished.pop(book_id, None)
        if event is not None:
            event.set()

    def _mark_indexed(self, book_id: int) -> None:
        running = self._running.get(book_id)
        if running is not None:
            running.indexed = True

    def _was_indexed(self, book_id: int) -> bool:
        running = self._running.get(book_id)
        return running is None or running.indexed

    @staticmethod
    def _reset_for_retry(book: Book, chat_id: int | None, message_id: int | None) -> None:
        book.status = BookStatus.PENDING
        book.stage = Stage.QUEUED
        book.progress = 0.0
        book.attempts = 0
        book.error_code = None
        book.error_details = None
        book.next_attempt_at = None
        book.lease_owner = None
        book.lease_expires_at = None
        book.chat_id = chat_id
        book.progress_message_id = message_id

    # ---------------------------------------------------------------- files and CPU work

    def has_file(self, book: Book) -> bool:
        """Whether the book's uploaded file is still stored (a failed book can then be reprocessed)."""
        return self.files.has(book)

    async def forget_failed_files(self, session: AsyncSession, now: datetime) -> int:
        """The nightly clean-up (see BookFiles.forget_failed)."""
        return await self.files.forget_failed(session, now)

    def _new_executor(self) -> Executor:
        if self.config.executor == "thread":
            return ThreadPoolExecutor(max_workers=self.config.workers, thread_name_prefix="ingestion")
        import multiprocessing

        # spawn: a fork of a process with running threads (torch, asyncio) is not safe.
        return ProcessPoolExecutor(
            max_workers=self.config.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=warm_up,
            initargs=(os.getpid(),),
            max_tasks_per_child=50,
        )

    def _shutdown_executor(self, *, kill: bool) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        if kill and isinstance(executor, ProcessPoolExecutor):
            # Python 3.11 has no public way to stop a busy worker; a stuck reader must not outlive us.
            for process in list(getattr(executor, "_processes", {}).values()):
                with contextlib.suppress(Exception):
                    process.kill()
        executor.shutdown(wait=False, cancel_futures=True)

    async def _run_cpu(self, func: Callable[..., _T], *args: Any) -> _T:
        if self._idle_reader is not None:
            self._idle_reader.cancel()
            self._idle_reader = None
        if self._executor is None:
            self._executor = self._new_executor()
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, func, *args)
        self._cpu_busy += 1
        try:
            return await asyncio.wait_for(future, self.config.timeout_seconds)
        except TimeoutError:
            # Only a killed process stops a runaway reader; threads run on but their result is dropped.
            self._shutdown_executor(kill=True)
            self._executor = self._new_executor()
            raise IngestionRejected(FailureCode.TIMEOUT) from None
        finally:
            self._cpu_busy -= 1
            idle = self.config.reader_idle_seconds
            if self._cpu_busy == 0 and idle > 0 and isinstance(self._executor, ProcessPoolExecutor):
                self._idle_reader = loop.call_later(idle, self._release_idle_reader)

    def _release_idle_reader(self) -> None:
        """No book read for `reader_idle_seconds`: stop the reader process (the next book starts one)."""
        self._idle_reader = None
        if self._cpu_busy == 0 and self._started:
            self._shutdown_executor(kill=False)
