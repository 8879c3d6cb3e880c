"""Librarity on several processes, on this machine, the production shape: two bot replicas in webhook
mode behind a round-robin balancer that the sandbox's Telegram feeds (so one user's updates alternate
between them), two `librarity worker` processes and two `librarity scheduler` processes, on a PostgreSQL
database and a Redis stream of their own.

- A book uploaded by a user is read by a worker and the user is told once (one message, made the book's
  card); the worker holding the book is killed with SIGKILL mid-way and the other one finishes it.
- An admin makes a broadcast through the replicas (its steps alternate between them: the conversation's
  state lives in Redis) to 300 sandbox users; it goes out at the sending rate while the worker sending it
  is killed: nobody gets it twice, only the messages in flight at the kill may be missing ("unknown").
- Two schedulers started by mistake: one runs the jobs (the daily ones once), the other says it waits;
  killed, the first is replaced by the second, which does not run the day's jobs again.

No timing asserts: generous waits with polling; the slow parts (the embeddings API, the sending rate)
are set so that a kill lands mid-way.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import web
from cryptography.fernet import Fernet
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox.emulator import SandboxEmulator
from bot.sandbox.runner import SANDBOX_TOKEN
from db.engine import create_engine, create_session_factory
from db.migrate import upgrade_async
from db.models import Book, Broadcast, JobRun
from db.repositories import notifications as notifications_repo
from db.repositories import users
from handlers.admin.callbacks import BroadcastAction, BroadcastCb, MenuCb, Section
from services.notifications.broadcast import campaign_of
from tests.conftest import REDIS_URL, SHARED_DATA, _drop_pg_database, _new_pg_database
from tests.e2e.client import SandboxControl, UserClient, buttons_of, text_of
from tests.fakes.embeddings_server import OPENAI_KEY, FakeEmbeddingsServer

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
WAIT = 120.0  # the longest any step may take on a busy machine
AUDIENCE = 300
OWNER = 5_000_001
SECRET = "scale-test-webhook-secret"
_T = TypeVar("_T")


async def until(check: Callable[[], Awaitable[_T | None]], what: str, within: float = WAIT) -> _T:
    """Poll `check` until it returns something truthy."""
    deadline = time.monotonic() + within
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {within:.0f}s for {what}")
        await asyncio.sleep(0.1)


@dataclass
class Process:
    role: str
    log: Path
    proc: asyncio.subprocess.Process

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Balancer:
    """A round-robin load balancer in front of the bot's webhook replicas (what docker compose's proxy
    does): each update Telegram posts goes to the next replica."""

    def __init__(self, http: aiohttp.ClientSession) -> None:
        self.http = http
        self.targets: list[str] = []
        self.handled: Counter[str] = Counter()
        self._next = 0
        self.port = _free_port()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        if not self.targets:
            return web.Response(status=502)
        target = self.targets[self._next % len(self.targets)]
        self._next += 1
        headers = {
            key: value
            for key, value in request.headers.items()
            if key.lower() in ("content-type", "x-telegram-bot-api-secret-token")
        }
        try:
            async with self.http.post(
                f"{target}{request.path_qs}", data=await request.read(), headers=headers
            ) as reply:
                body = await reply.read()
                if reply.status == 200:
                    self.handled[target] += 1
                return web.Response(status=reply.status, body=body, content_type=reply.content_type)
        except aiohttp.ClientError:
            return web.Response(status=502)  # Telegram tries again; the next replica gets it


@dataclass
class Cluster:
    root: Path
    env: dict[str, str]
    emulator: SandboxEmulator
    balancer: Balancer
    embeddings: FakeEmbeddingsServer
    http: aiohttp.ClientSession
    sessions: async_sessionmaker[AsyncSession]
    queue: str
    processes: list[Process] = field(default_factory=list)
    spawned: int = 0

    @property
    def control(self) -> SandboxControl:
        return SandboxControl(self.emulator.base_url, self.http)

    def user(self, user_id: int) -> UserClient:
        return UserClient(self.emulator.base_url, user_id, session=self.http, timeout=WAIT)

    def alive(self, role: str) -> list[Process]:
        return [p for p in self.processes if p.role == role and p.proc.returncode is None]

    async def spawn(self, role: str, ready: str, **env: str) -> Process:
        self.spawned += 1
        log = self.root / f"{role}-{self.spawned}.log"
        with open(log, "wb") as handle:  # noqa: ASYNC230 - a file, so a killed child leaves no open pipe
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                role,
                cwd=ROOT,
                env={**self.env, **env},
                stdout=handle,
                stderr=handle,
            )
        process = Process(role, log, proc)
        self.processes.append(process)

        async def started() -> bool:
            if proc.returncode is not None:
                raise AssertionError(f"{role} exited {proc.returncode}:\n{process.output()[-3000:]}")
            return ready in process.output()

        await until(started, f"{role} to start")
        return process

    async def replica(self) -> str:
        """A bot replica in webhook mode on a port of its own, behind the balancer."""
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        process = await self.spawn("run", "", WEBHOOK_PORT=str(port))

        async def healthy() -> bool:
            if process.proc.returncode is not None:
                raise AssertionError(f"replica exited:\n{process.output()[-3000:]}")
            try:
                async with self.http.get(f"{url}/healthz") as reply:
                    return reply.status == 200
            except aiohttp.ClientError:
                return False

        await until(healthy, "a bot replica to answer")
        self.balancer.targets.append(url)
        return url

    async def kill(self, pid: int) -> Process:
        (process,) = [p for p in self.processes if p.pid == pid]
        os.kill(pid, signal.SIGKILL)
        await process.proc.wait()
        return process

    async def stop_all(self) -> None:
        for process in self.processes:
            if process.proc.returncode is None:
                process.proc.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                await asyncio.wait_for(process.proc.wait(), 20)
            except TimeoutError:
                process.proc.kill()
                await process.proc.wait()


@pytest.fixture(scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    root = tmp_path_factory.mktemp("scale")
    data_dir = root / "data"
    data_dir.mkdir()
    database = await _new_pg_database()
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"
    await upgrade_async(url)
    queue = f"test:scale:{uuid.uuid4().hex[:8]}"
    engine = create_engine(url)
    emulator = SandboxEmulator()
    await emulator.start()
    async with (
        FakeEmbeddingsServer(delay_seconds=0.25) as embeddings,
        aiohttp.ClientSession() as http,
    ):
        balancer = Balancer(http)
        await balancer.start()
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(
                ("DATABASE_URL", "QDRANT_", "REDIS_URL", "BOT_TOKEN", "EMBEDDINGS_", "OPENAI_", "GEMINI_")
            )
        }
        env.update(
            DATA_DIR=str(data_dir),
            DATABASE_URL=url,
            REDIS_URL=REDIS_URL,
            TASK_QUEUE=queue,
            TASK_REDELIVER_SECONDS="3",
            SCHEDULER_LOCK_SECONDS="3",
            SCHEDULER_ENABLED="false",
            EMBEDDINGS_PROVIDER="openai",
            OPENAI_API_KEY=OPENAI_KEY,
            EMBEDDINGS_BASE_URL=embeddings.openai_base_url,
            EMBEDDINGS_DIMENSIONS="32",
            EMBEDDINGS_BATCH_SIZE="16",
            INGESTION_EXECUTOR="thread",
            SEND_RATE_PER_SECOND="40",
            BILLING_FREE_MAX_BOOKS="50",
            ADMIN_IDS=str(OWNER),
            BOT_TOKEN=SANDBOX_TOKEN,
            DATA_ENCRYPTION_KEY=Fernet.generate_key().decode(),  # one key for every process, as in production
            TELEGRAM_API_URL=emulator.base_url,
            WEBHOOK_URL=balancer.url,
            WEBHOOK_SECRET=SECRET,
            WEBHOOK_HOST="127.0.0.1",
            HF_HUB_OFFLINE="1",
            TRANSFORMERS_OFFLINE="1",
            LOG_LEVEL="INFO",
            PYTHONUNBUFFERED="1",
        )
        cluster = Cluster(
            root, env, emulator, balancer, embeddings, http, create_session_factory(engine), queue
        )
        try:
            await asyncio.gather(
                cluster.replica(),
                cluster.replica(),
                *(cluster.spawn("worker", "worker ready") for _ in range(2)),
            )
            await until(lambda: _true(emulator.world.webhook is not None), "the webhook to be set")
            yield cluster
        finally:
            await cluster.stop_all()
            await balancer.stop()
            await emulator.stop()
            await engine.dispose()
            redis = Redis.from_url(REDIS_URL)
            keys = [key async for key in redis.scan_iter(f"{queue}*")]
            if keys:
                await redis.delete(*keys)
            await redis.aclose()
    await _drop_pg_database(database)


async def _true(value: bool) -> bool:
    return value


async def _book(cluster: Cluster, user_id: int) -> Book | None:
    async with cluster.sessions() as session:
        return await session.scalar(select(Book).where(Book.user_id == user_id))


async def press(client: UserClient, message: dict[str, Any], data: str, expect: str) -> dict[str, Any]:
    """Tap the button with this data and wait for the same message to say `expect`."""
    await client.tap(int(message["message_id"]), data)
    return await client.wait_edit(int(message["message_id"]), lambda m: expect.lower() in text_of(m).lower())


def _is_progress(message: dict[str, Any]) -> bool:
    text = text_of(message)
    return "▰" in text or "▱" in text


def _pid_of(owner: str | None) -> int | None:
    parts = (owner or "").split(":")
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


async def test_a_book_is_read_by_a_worker_and_finished_by_another_when_it_is_killed(
    cluster: Cluster,
) -> None:
    user = cluster.user(30_001)
    await user.ask("/help", contains="What I can do", timeout=WAIT)  # one reply; the next update, the book,
    # goes to the other replica
    sent = await user.send_document(SHARED_DATA / "books" / "gutenberg" / "chesterton-thursday.txt")
    progress = await user.wait_reply(int(sent["message_id"]), timeout=WAIT)

    # The words are indexed first (the card comes); the dense vectors take a while: kill their worker.
    async def held() -> Book | None:
        book = await _book(cluster, user.user_id)
        if book is not None and book.status == "ready" and book.dense_pending and book.lease_owner:
            return book
        return None

    book = await until(held, "a worker to add the book's dense vectors")
    holder = _pid_of(book.lease_owner)
    workers = {p.pid for p in cluster.alive("worker")}
    assert holder in workers, f"{book.lease_owner} is not one of the workers {workers}"
    calls_before = len(cluster.embeddings.calls)
    await cluster.kill(holder)

    async def finished() -> Book | None:
        done = await _book(cluster, user.user_id)
        return done if done is not None and not done.dense_pending else None

    done = await until(finished, "the other worker to finish the book")
    assert done.status == "ready" and done.chunks > 0 and done.attempts == 1
    assert len(cluster.embeddings.calls) > calls_before, "the other worker embedded the rest"
    survivor = cluster.alive("worker")
    assert [p.pid for p in survivor] == list(workers - {holder})
    assert "taken over" in survivor[0].output() or "task delivery" in survivor[0].output()

    # Told once: one message about the book, made its card, brought up to date in place.
    try:
        card = await user.wait_edit(
            int(progress["message_id"]),
            lambda m: (
                "Thursday" in text_of(m) and not _is_progress(m) and "still being prepared" not in text_of(m)
            ),
            timeout=WAIT,
        )
    except AssertionError as error:
        edits = await cluster.control.calls("editMessageText", chat_id=user.user_id)
        shown = [
            (c.get("seq"), c.get("ok", c.get("error")), str(c["params"].get("text"))[:60]) for c in edits
        ]
        raise AssertionError(f"{error}; edits: {shown}") from None
    assert "Thursday" in text_of(card)
    replies = await user.messages(after=int(sent["message_id"]))
    assert [int(m["message_id"]) for m in replies] == [int(progress["message_id"])], [
        text_of(m)[:80] for m in replies
    ]
    assert len(cluster.balancer.handled) == 2, "both replicas took updates"
    await cluster.spawn("worker", "worker ready")  # two workers again for what follows


async def test_a_broadcast_goes_to_everyone_once_while_its_worker_is_killed(cluster: Cluster) -> None:
    first = 40_000
    ids = list(range(first, first + AUDIENCE))
    world = cluster.emulator.world
    for user_id in ids:
        world.ensure_user(user_id, {"language_code": "ru", "first_name": f"Reader {user_id}"})
    async with cluster.sessions() as session:
        for user_id in ids:
            await users.upsert_seen(
                session, user_id=user_id, username=None, first_name="Reader", last_name=None, language="ru"
            )
        await session.commit()
    while len(cluster.alive("worker")) < 2:
        await cluster.spawn("worker", "worker ready")

    # The owner makes it through the replicas: each step may land on the other one.
    owner = cluster.user(OWNER)
    text = f"The autumn reading list is out ({uuid.uuid4().hex[:6]})"
    before = dict(cluster.balancer.handled)
    menu = await owner.ask("/admin", contains="Admin", timeout=WAIT)
    screen = await press(owner, menu, MenuCb(section=Section.BROADCASTS).pack(), "Broadcasts")
    await press(owner, screen, BroadcastCb(action=BroadcastAction.NEW).pack(), "Send the message")
    sent = await owner.send(text)
    ask_button = await owner.wait_reply(int(sent["message_id"]), contains="link button", timeout=WAIT)
    await owner.tap(int(ask_button["message_id"]), BroadcastCb(action=BroadcastAction.NO_BUTTON).pack())
    audience = await owner.wait_edit(int(ask_button["message_id"]), lambda m: "Who gets it" in text_of(m))
    await owner.tap(
        int(audience["message_id"]), BroadcastCb(action=BroadcastAction.AUDIENCE, value="language.ru").pack()
    )
    confirm = await owner.wait_reply(int(audience["message_id"]), contains="recipient", timeout=WAIT)
    assert f"{AUDIENCE} recipients" in text_of(confirm)
    since = await cluster.control.last_call_seq()
    go = next(
        str(b["callback_data"])
        for b in buttons_of(confirm)
        if str(b.get("callback_data")).startswith("admc:go:")
    )
    progress_message = await press(owner, confirm, go, "Broadcast #")
    assert all(cluster.balancer.handled[t] > before.get(t, 0) for t in cluster.balancer.targets), (
        "the admin's steps went to both replicas"
    )
    async with cluster.sessions() as session:
        broadcast_id = await session.scalar(select(Broadcast.id).order_by(Broadcast.id.desc()).limit(1))
    assert broadcast_id is not None

    async def progress_of() -> Any:
        async with cluster.sessions() as session:
            row = await session.get(Broadcast, broadcast_id, populate_existing=True)
            counts = await notifications_repo.status_counts(session, campaign_of(broadcast_id))
        assert row is not None
        return row, counts

    async def midway() -> bool:
        _, counts = await progress_of()
        return sum(n for status, n in counts.items() if status not in ("pending", "sending")) >= AUDIENCE // 5

    await until(midway, "the broadcast to be under way")
    redis = Redis.from_url(REDIS_URL)
    try:
        pending = await redis.xpending(cluster.queue, "librarity-workers")
    finally:
        await redis.aclose()
    holders = [_pid_of(c["name"].decode()) for c in pending["consumers"] if int(c["pending"])]
    assert len(holders) == 1 and holders[0] is not None, pending
    await cluster.kill(holders[0])
    row, counts = await progress_of()
    assert row.status == "running" and counts.get("pending", 0) > 0, "killed mid-way"

    async def done() -> Any:
        row, counts = await progress_of()
        return counts if row.status == "done" else None

    counts = await until(done, "another worker to finish the broadcast")
    sent_ = counts.get("sent", 0)
    unknown = counts.get("unknown", 0)
    calls = await cluster.control.calls("sendMessage", since=since)
    received = Counter(int(call["params"]["chat_id"]) for call in calls if call["params"].get("text") == text)
    assert max(received.values()) == 1, "nobody got the broadcast twice"
    assert set(received) <= set(ids)
    # Only the messages in flight at the kill are unaccounted for: maybe delivered, never resent.
    assert sent_ <= len(received) <= sent_ + unknown
    assert sum(counts.values()) == AUDIENCE and sent_ + unknown == AUDIENCE
    assert unknown <= 4, "at most the broadcast's senders in flight"
    # The admin's progress message, watched by the replica that started it, says it is done.
    report = await owner.wait_edit(int(progress_message["message_id"]), lambda m: ": done" in text_of(m))
    assert f"of {AUDIENCE}" in text_of(report)


async def test_of_two_schedulers_one_runs_the_jobs_once(cluster: Cluster) -> None:
    first, second = await asyncio.gather(
        cluster.spawn("scheduler", "scheduler runs the jobs"),
        cluster.spawn("scheduler", "scheduler runs the jobs"),
    )
    pair = (first, second)

    def leading() -> list[Process]:
        return [p for p in pair if "this scheduler runs the jobs" in p.output()]

    async def decided() -> bool:
        return bool(leading()) and any("waits to take over" in p.output() for p in pair)

    await until(decided, "one scheduler to lead and the other to wait")
    (leader,) = leading()
    (waiting,) = [p for p in pair if p is not leader]

    async def daily_done() -> list[JobRun] | None:
        async with cluster.sessions() as session:
            rows = list((await session.scalars(select(JobRun).where(JobRun.job == "cleanup"))).all())
        return rows if rows and all(row.status == "done" for row in rows) else None

    rows = await until(daily_done, "the daily clean-up to run")
    assert len(rows) == 1 and rows[0].attempts == 1

    await cluster.kill(leader.pid)

    async def took_over() -> bool:
        return "took over" in waiting.output()

    await until(took_over, "the second scheduler to take over")
    await asyncio.sleep(1.0)  # its catch-up looks at the day's jobs
    async with cluster.sessions() as session:
        again = list((await session.scalars(select(JobRun).where(JobRun.job == "cleanup"))).all())
    assert [(row.period, row.attempts) for row in again] == [(rows[0].period, 1)], "the day's job ran once"
