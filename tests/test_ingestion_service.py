"""IngestionService on both databases with small real books: statuses, dedupe, reuse, failures, resume."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import utcnow
from db.models import Book, BookStatus, Chunk
from db.repositories import books as repo
from services.ingestion.errors import IngestionError
from services.ingestion.service import IngestionRejected, IngestionService
from services.search.index import SearchIndex
from tests.conftest import shared_data
from tests.ingestion_helpers import CountingEmbedder, ensure_users, make_index, make_service

ALICE, BOB = 101, 202


@pytest.fixture
def blake() -> bytes:
    return shared_data("books", "gutenberg", "blake-poems.txt").read_bytes()


@pytest.fixture
def embedder() -> CountingEmbedder:
    return CountingEmbedder()


@pytest.fixture
async def index(tmp_path: Path, embedder: CountingEmbedder) -> AsyncIterator[SearchIndex]:
    index = make_index(tmp_path / "qdrant", embedder)
    yield index
    await index.close()


@pytest.fixture
async def service(
    session_factory: async_sessionmaker[AsyncSession], index: SearchIndex, tmp_path: Path
) -> AsyncIterator[IngestionService]:
    await ensure_users(session_factory, ALICE, BOB)
    service = make_service(session_factory, index, tmp_path / "files")
    await service.start()
    yield service
    await service.stop()


class Recorder:
    """A progress listener that keeps (book id, stage, fraction)."""

    def __init__(self) -> None:
        self.events: list[tuple[int, str, float]] = []

    async def __call__(self, book: Book, stage: str, fraction: float) -> None:
        self.events.append((book.id, stage, fraction))

    def stages(self, book_id: int) -> list[str]:
        stages: list[str] = []
        for bid, stage, _ in self.events:
            if bid == book_id and (not stages or stages[-1] != stage):
                stages.append(stage)
        return stages


async def submit_and_wait(
    service: IngestionService, user_id: int, data: bytes | Path, name: str, **kw: Any
) -> Book:
    submission = await service.submit(user_id, data, name, **kw)
    book = await service.wait(submission.book.id, max_seconds=120)
    assert book is not None
    return book


async def chunk_count(session_factory: async_sessionmaker[AsyncSession], book_id: int) -> int:
    async with session_factory() as session:
        return await repo.count_chunks(session, book_id)


async def test_book_goes_pending_processing_ready(
    service: IngestionService,
    session_factory: async_sessionmaker[AsyncSession],
    index: SearchIndex,
    blake: bytes,
    tmp_path: Path,
) -> None:
    recorder = Recorder()
    service.subscribe(recorder)
    submission = await service.submit(ALICE, blake, "blake-poems.txt", chat_id=ALICE, message_id=5)
    assert submission.outcome == "new"
    assert submission.book.status == BookStatus.PENDING
    book = await service.wait(submission.book.id, max_seconds=120)
    assert book is not None and book.status == BookStatus.READY, (book.error_code, book.error_details)
    assert book.attempts == 1 and book.progress == 1.0 and book.error_code is None
    assert book.title and book.chunks > 0 and book.format == "txt" and book.language == "en"
    assert book.chat_id == ALICE and book.progress_message_id == 5
    assert set(book.timings or {}) >= {"reading", "chunking", "indexing"}
    assert await chunk_count(session_factory, book.id) == book.chunks
    assert await index.count(ALICE, book.id) == book.chunks
    assert await service.active_book_id(ALICE) == book.id
    done = await service.wait_dense(book.id, max_seconds=60)
    assert done is not None and not done.dense_pending and done.lease_owner is None
    assert await index.search(ALICE, "little lamb who made thee", book_ids=[book.id], mode="dense")
    for _ in range(200):  # the "dense" event follows the database's note of it
        if recorder.stages(book.id)[-1] == "dense":
            break
        await asyncio.sleep(0.05)
    stages = recorder.stages(book.id)
    assert stages[0] == "reading" and "indexing" in stages and stages[-2:] == ["ready", "dense"], (
        "ready to ask, then searchable by meaning too once the dense vectors are in"
    )
    fractions = [fraction for bid, _, fraction in recorder.events if bid == book.id]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    # The upload is kept only while it is needed.
    assert not (tmp_path / "files" / book.file_sha256).exists()


async def test_same_file_twice_is_recognised(service: IngestionService, blake: bytes) -> None:
    first = await submit_and_wait(service, ALICE, blake, "blake.txt")
    again = await service.submit(ALICE, blake, "another-name.txt")
    assert again.outcome == "duplicate" and again.book.id == first.id
    books, total = await service.shelf(ALICE)
    assert total == 1 and [b.id for b in books] == [first.id]


async def test_identical_file_from_another_user_reuses_work(
    service: IngestionService,
    session_factory: async_sessionmaker[AsyncSession],
    index: SearchIndex,
    embedder: CountingEmbedder,
    blake: bytes,
) -> None:
    original = await submit_and_wait(service, ALICE, blake, "blake.txt")
    await service.wait_dense(original.id, max_seconds=60)
    embedded = embedder.embedded
    submission = await service.submit(BOB, blake, "poems.txt")
    assert submission.outcome == "reuse"
    copy = await service.wait(submission.book.id, max_seconds=60)
    assert copy is not None and copy.status == BookStatus.READY
    assert embedder.embedded == embedded, "the copy must not embed anything"
    assert (
        copy.source_book_id == original.id and copy.chunks == original.chunks and copy.title == original.title
    )
    async with session_factory() as session:
        mine = [(c.seq, c.text) for c in await repo.chunks(session, original.id)]
        theirs = [(c.seq, c.text) for c in await repo.chunks(session, copy.id)]
    assert mine == theirs
    assert await index.count(BOB, copy.id) == copy.chunks
    # Each user's copy is their own: deleting one leaves the other whole.
    assert await service.delete(ALICE, original.id)
    assert await index.count(BOB, copy.id) == copy.chunks
    assert await chunk_count(session_factory, copy.id) == copy.chunks
    hits = await index.search(BOB, "little lamb who made thee", k=3)
    assert hits and all(hit.book_id == copy.id for hit in hits)
    assert await index.search(ALICE, "little lamb who made thee", k=3) == []


async def test_empty_and_too_large_are_refused_at_once(service: IngestionService, tmp_path: Path) -> None:
    with pytest.raises(IngestionError) as empty:
        await service.submit(ALICE, b"", "empty.txt")
    assert empty.value.code == "empty_file"
    small = make_service(service._sessions, service._index, tmp_path / "files2", max_file_bytes=10)
    with pytest.raises(IngestionError) as large:
        await small.submit(ALICE, b"x" * 11, "big.txt")
    assert large.value.code == "too_large" and large.value.details["limit"] == 10


async def test_unreadable_file_fails_with_its_code(service: IngestionService) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    book = await submit_and_wait(service, ALICE, png, "cover.pdf")
    assert book.status == BookStatus.FAILED and book.error_code == "unsupported_type"
    assert book.attempts == 1, "a bad file is not retried"
    _, total = await service.shelf(ALICE)
    assert total == 0, "a file we cannot read does not clutter the shelf"


async def test_a_failed_books_file_is_kept_to_reprocess_then_cleaned_up(
    service: IngestionService, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x01" * 64
    book = await submit_and_wait(service, ALICE, png, "scan.pdf")
    assert book.status == BookStatus.FAILED and service.has_file(book), "kept so an admin can reprocess it"
    async with session_factory() as session:
        assert await service.forget_failed_files(session, utcnow()) == 0, "within FAILED_BOOK_FILE_DAYS"
        assert await service.forget_failed_files(session, utcnow() + timedelta(days=8)) == 1
    assert not service.has_file(book)
    assert await service.retry(ALICE, book.id) is None, "nothing is left to reprocess"


async def test_password_protected_pdf_waits_for_the_password(
    service: IngestionService, tmp_path: Path
) -> None:
    pdf = shared_data("files", "pdf-pypdf-resources", "encryption", "r2-user-password.pdf")
    book = await submit_and_wait(service, ALICE, pdf, "secret.pdf")
    assert book.status == BookStatus.FAILED and book.error_code == "password_required"
    assert (tmp_path / "files" / book.file_sha256).exists(), "kept for the retry with a password"
    _, total = await service.shelf(ALICE)
    assert total == 1, "a book waiting for its password stays on the shelf"

    assert await service.retry(ALICE, book.id, password="not-it") is not None
    wrong = await service.wait(book.id, max_seconds=60)
    assert wrong is not None and wrong.error_code == "wrong_password"

    assert await service.retry(ALICE, book.id, password="asdfzxcv") is not None
    right = await service.wait(book.id, max_seconds=60)
    assert right is not None and right.status == BookStatus.READY, right.error_code
    assert right.chunks > 0
    assert not (tmp_path / "files" / book.file_sha256).exists()


class FlakyIndex:
    """Wraps an index; index_chunks fails the first `failures` times (a transient outage)."""

    def __init__(self, inner: SearchIndex, failures: int) -> None:
        self.inner = inner
        self.failures = failures
        self.calls = 0

    async def index_chunks(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("qdrant is down")
        return await self.inner.index_chunks(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_transient_failure_is_retried(
    session_factory: async_sessionmaker[AsyncSession], index: SearchIndex, blake: bytes, tmp_path: Path
) -> None:
    await ensure_users(session_factory, ALICE)
    flaky = FlakyIndex(index, failures=1)
    service = make_service(session_factory, flaky, tmp_path / "files", max_attempts=3)
    await service.start()
    try:
        book = await submit_and_wait(service, ALICE, blake, "blake.txt")
    finally:
        await service.stop()
    assert book.status == BookStatus.READY and book.attempts == 2 and flaky.calls == 2


async def test_persistent_failure_ends_failed_after_max_attempts(
    session_factory: async_sessionmaker[AsyncSession], index: SearchIndex, blake: bytes, tmp_path: Path
) -> None:
    await ensure_users(session_factory, ALICE)
    flaky = FlakyIndex(index, failures=100)
    service = make_service(session_factory, flaky, tmp_path / "files", max_attempts=2)
    await service.start()
    try:
        book = await submit_and_wait(service, ALICE, blake, "blake.txt")
    finally:
        await service.stop()
    assert book.status == BookStatus.FAILED and book.error_code == "internal" and book.attempts == 2
    assert flaky.calls == 2
    assert await chunk_count(session_factory, book.id) == 0


async def test_before_index_hook_can_refuse(
    service: IngestionService, blake: bytes, embedder: CountingEmbedder
) -> None:
    async def no_credits(book: Book) -> None:
        raise IngestionRejected("insufficient_credits", needed=3)

    service.before_index.append(no_credits)
    book = await submit_and_wait(service, ALICE, blake, "blake.txt")
    assert book.status == BookStatus.FAILED and book.error_code == "insufficient_credits"
    assert book.error_details == {"needed": 3} and embedder.embedded == 0


async def _stuck_book(
    session_factory: async_sessionmaker[AsyncSession], files_dir: Path, data: bytes, *, attempts: int
) -> int:
    """A book as a killed process leaves it: processing, held by a pid that no longer exists."""
    sha = hashlib.sha256(data).hexdigest()
    await asyncio.to_thread(files_dir.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread((files_dir / sha).write_bytes, data)
    dead_pid = _dead_pid()
    async with session_factory() as session:
        book = Book(
            user_id=ALICE,
            file_sha256=sha,
            file_name="blake.txt",
            file_size=len(data),
            status=BookStatus.PROCESSING,
            stage="indexing",
            progress=0.5,
            attempts=attempts,
            chunks=0,
            lease_owner=f"{socket.gethostname()[:60]}:{dead_pid}:deadbeef",
            lease_expires_at=utcnow() + timedelta(minutes=10),
        )
        session.add(book)
        await session.commit()
        return book.id


def _dead_pid() -> int:
    pid = 4_000_000
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid -= 1


async def test_book_left_processing_by_a_dead_process_resumes(
    session_factory: async_sessionmaker[AsyncSession], index: SearchIndex, blake: bytes, tmp_path: Path
) -> None:
    await ensure_users(session_factory, ALICE)
    book_id = await _stuck_book(session_factory, tmp_path / "files", blake, attempts=1)
    service = make_service(session_factory, index, tmp_path / "files", max_attempts=3)
    await service.start()
    try:
        book = await service.wait(book_id, max_seconds=120)
    finally:
        await service.stop()
    assert book is not None and book.status == BookStatus.READY and book.attempts == 2
    assert await chunk_count(session_factory, book_id) == book.chunks > 0


async def test_book_that_keeps_killing_the_process_fails(
    session_factory: async_sessionmaker[AsyncSession], index: SearchIndex, blake: bytes, tmp_path: Path
) -> None:
    await ensure_users(session_factory, ALICE)
    book_id = await _stuck_book(session_factory, tmp_path / "files", blake, attempts=3)
    service = make_service(session_factory, index, tmp_path / "files", max_attempts=3)
    recorder = Recorder()
    service.subscribe(recorder)
    await service.start()
    try:
        book = await service.wait(book_id, max_seconds=30)
    finally:
        await service.stop()
    assert book is not None and book.status == BookStatus.FAILED and book.error_code == "interrupted"
    assert (book_id, "failed") in [(bid, stage) for bid, stage, _ in recorder.events]


async def test_a_book_another_live_process_works_on_is_left_to_it(
    session_factory: async_sessionmaker[AsyncSession], index: SearchIndex, blake: bytes, tmp_path: Path
) -> None:
    await ensure_users(session_factory, ALICE)
    book_id = await _stuck_book(session_factory, tmp_path / "files", blake, attempts=1)
    async with session_factory() as session:
        book = await session.get(Book, book_id)
        assert book is not None
        book.lease_owner = f"{socket.gethostname()[:60]}:{os.getppid()}:alive"  # a live process holds it
        await session.commit()
    service = make_service(session_factory, index, tmp_path / "files")
    await service.start()
    try:
        await asyncio.sleep(0.3)
        async with session_factory() as session:
            book = await session.get(Book, book_id)
            assert book is not None and book.status == BookStatus.PROCESSING and book.attempts == 1
    finally:
        await service.stop()


async def test_shelf_rename_activate_delete(
    service: IngestionService,
    session_factory: async_sessionmaker[AsyncSession],
    index: SearchIndex,
    blake: bytes,
) -> None:
    books = []
    for n in range(3):
        books.append(await submit_and_wait(service, ALICE, blake + f"\n\nCopy {n}.".encode(), f"b{n}.txt"))
    assert all(book.status == BookStatus.READY for book in books)
    page, total = await service.shelf(ALICE, offset=0, limit=2)
    assert total == 3 and [b.id for b in page] == [books[2].id, books[1].id]
    page, _ = await service.shelf(ALICE, offset=2, limit=2)
    assert [b.id for b in page] == [books[0].id]
    assert await service.active_book_id(ALICE) == books[2].id

    renamed = await service.rename(ALICE, books[0].id, "  My   favourite\npoems ")
    assert renamed is not None and renamed.title == "My favourite poems"
    assert await service.rename(ALICE, books[0].id, "   ") is None
    assert await service.rename(BOB, books[0].id, "stolen") is None, "only the owner renames"

    assert await service.set_active(ALICE, books[0].id) is not None
    assert await service.active_book_id(ALICE) == books[0].id
    assert not await service.delete(BOB, books[0].id), "only the owner deletes"
    assert await service.delete(ALICE, books[0].id)
    assert await service.get(ALICE, books[0].id) is None
    assert await chunk_count(session_factory, books[0].id) == 0
    assert await index.count(ALICE, books[0].id) == 0
    assert await service.active_book_id(ALICE) == books[2].id, "the newest remaining book becomes active"


async def test_delete_while_indexing_leaves_nothing_behind(
    service: IngestionService, session_factory: async_sessionmaker[AsyncSession], index: SearchIndex
) -> None:
    text = shared_data("books", "gutenberg", "shakespeare-macbeth.txt").read_bytes()
    started = asyncio.Event()

    async def on_progress(book: Book, stage: str, fraction: float) -> None:
        if stage == "indexing" and fraction > 0.3:
            started.set()

    service.subscribe(on_progress)
    submission = await service.submit(ALICE, text, "macbeth.txt")
    await asyncio.wait_for(started.wait(), 60)
    assert await service.delete(ALICE, submission.book.id)
    await asyncio.sleep(0.2)
    assert await index.count(ALICE, submission.book.id) == 0
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Chunk)) == 0
        assert await session.scalar(select(func.count()).select_from(Book)) == 0


async def test_worker_processes_read_off_the_event_loop(
    session_factory: async_sessionmaker[AsyncSession],
    index: SearchIndex,
    blake: bytes,
    tmp_path: Path,
    db_kind: str,
) -> None:
    if db_kind != "sqlite":
        pytest.skip("the executor does not depend on the database; once is enough")
    await ensure_users(session_factory, ALICE)
    service = make_service(session_factory, index, tmp_path / "files", executor="process")
    await service.start()
    try:
        book = await submit_and_wait(service, ALICE, blake, "blake.txt")
    finally:
        await service.stop()
    assert book.status == BookStatus.READY and book.chunks > 0


async def test_the_reader_process_stops_when_idle_and_starts_again_for_the_next_book(
    session_factory: async_sessionmaker[AsyncSession],
    index: SearchIndex,
    blake: bytes,
    tmp_path: Path,
    db_kind: str,
) -> None:
    if db_kind != "sqlite":
        pytest.skip("the executor does not depend on the database; once is enough")
    import psutil

    def readers() -> set[int]:
        return {
            child.pid
            for child in psutil.Process().children()
            if "spawn_main" in " ".join(child.cmdline())
            and "resource_tracker" not in " ".join(child.cmdline())
        }

    await ensure_users(session_factory, ALICE)
    before = readers()
    service = make_service(
        session_factory, index, tmp_path / "files", executor="process", reader_idle_seconds=0.5
    )
    await service.start()
    try:
        first = await submit_and_wait(service, ALICE, blake, "blake.txt")
        reader = readers() - before
        assert first.status == BookStatus.READY and len(reader) == 1
        for _ in range(100):  # idle: the reader process goes
            if not reader & readers():
                break
            await asyncio.sleep(0.1)
        assert not reader & readers()
        second = await submit_and_wait(service, ALICE, blake + b"\nOne more line.", "blake-2.txt")
        assert second.status == BookStatus.READY and len(readers() - before - reader) == 1
    finally:
        await service.stop()


class GatedEmbedder(CountingEmbedder):
    """Holds every document batch until `gate` is set: a book's dense vectors that take their time."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.waiting = asyncio.Event()

    async def embed_documents(self, texts: Any) -> Any:
        self.waiting.set()
        await self.gate.wait()
        return await super().embed_documents(texts)


@pytest.fixture
async def gated(tmp_path: Path) -> AsyncIterator[tuple[GatedEmbedder, SearchIndex]]:
    embedder = GatedEmbedder()
    index = make_index(tmp_path / "qdrant-gated", embedder)
    yield embedder, index
    embedder.gate.set()
    await index.close()


@pytest.fixture
async def slow_service(
    session_factory: async_sessionmaker[AsyncSession],
    gated: tuple[GatedEmbedder, SearchIndex],
    tmp_path: Path,
) -> AsyncIterator[IngestionService]:
    """A running service whose dense vectors wait for `gated[0].gate`."""
    await ensure_users(session_factory, ALICE, BOB)
    service = make_service(session_factory, gated[1], tmp_path / "files")
    await service.start()
    yield service
    await service.stop()


async def test_book_is_ready_to_search_before_its_dense_vectors(
    slow_service: IngestionService, gated: tuple[GatedEmbedder, SearchIndex], blake: bytes
) -> None:
    embedder, index = gated
    book = await submit_and_wait(slow_service, ALICE, blake, "blake.txt")
    assert book.status == BookStatus.READY and book.dense_pending
    await asyncio.wait_for(embedder.waiting.wait(), 30)
    # The user can ask now: the book's words are searchable while the model works.
    hits = await index.search(ALICE, "little lamb who made thee", book_ids=[book.id])
    assert hits and "little lamb" in hits[0].text.lower()
    assert await index.search(ALICE, "little lamb who made thee", book_ids=[book.id], mode="dense") == []
    embedder.gate.set()
    done = await slow_service.wait_dense(book.id, max_seconds=60)
    assert done is not None and not done.dense_pending
    assert await index.search(ALICE, "little lamb who made thee", book_ids=[book.id], mode="dense")


async def test_dense_vectors_resume_after_a_restart(
    session_factory: async_sessionmaker[AsyncSession],
    gated: tuple[GatedEmbedder, SearchIndex],
    blake: bytes,
    tmp_path: Path,
) -> None:
    embedder, slow_index = gated
    await ensure_users(session_factory, ALICE)
    first = make_service(session_factory, slow_index, tmp_path / "files")
    await first.start()
    try:
        book = await submit_and_wait(first, ALICE, blake, "blake.txt")
        await asyncio.wait_for(embedder.waiting.wait(), 30)
    finally:
        await first.stop()  # stopped mid-way: the dense work is handed back
    async with session_factory() as session:
        stopped = await repo.get(session, book.id)
        assert stopped is not None and stopped.dense_pending and stopped.lease_owner is None
        # ... or held by a process that died: the next start takes it over too.
        stopped.lease_owner = f"{socket.gethostname()[:60]}:{_dead_pid()}:gone"
        stopped.lease_expires_at = utcnow() + timedelta(minutes=5)
        await session.commit()
    second = make_service(session_factory, slow_index, tmp_path / "files")
    embedder.gate.set()
    await second.start()
    try:
        done = await second.wait_dense(book.id, max_seconds=60)
    finally:
        await second.stop()
    assert done is not None and done.status == BookStatus.READY and not done.dense_pending
    assert await slow_index.search(ALICE, "little lamb who made thee", book_ids=[book.id], mode="dense")


async def test_copy_of_a_book_still_getting_dense_vectors_gets_its_own(
    slow_service: IngestionService, gated: tuple[GatedEmbedder, SearchIndex], blake: bytes
) -> None:
    embedder, index = gated
    original = await submit_and_wait(slow_service, ALICE, blake, "blake.txt")
    copy = await submit_and_wait(slow_service, BOB, blake, "poems.txt")
    assert copy.source_book_id == original.id and copy.dense_pending
    embedder.gate.set()
    for book in (original, copy):
        done = await slow_service.wait_dense(book.id, max_seconds=60)
        assert done is not None and not done.dense_pending
    hits = await index.search(BOB, "little lamb who made thee", book_ids=[copy.id], mode="dense")
    assert hits and all(hit.book_id == copy.id for hit in hits)


async def test_delete_while_dense_vectors_are_added_leaves_nothing_behind(
    slow_service: IngestionService,
    session_factory: async_sessionmaker[AsyncSession],
    gated: tuple[GatedEmbedder, SearchIndex],
    blake: bytes,
) -> None:
    embedder, index = gated
    book = await submit_and_wait(slow_service, ALICE, blake, "blake.txt")
    await asyncio.wait_for(embedder.waiting.wait(), 30)
    assert await slow_service.delete(ALICE, book.id)
    assert await slow_service.wait_dense(book.id, max_seconds=10) is None
    embedder.gate.set()
    await asyncio.sleep(0.2)
    assert await index.count(ALICE, book.id) == 0
    assert await chunk_count(session_factory, book.id) == 0
