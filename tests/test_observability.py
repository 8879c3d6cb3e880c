"""Observability of one process: Sentry's scrubber on real event dicts, Sentry off without a DSN and
scrubbed reports with one (a real Sentry-speaking HTTP server), LLM calls and background tasks in the
metrics, task ids on JSON log lines, and the metrics port of worker and scheduler processes."""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import logging
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
import structlog
from aiohttp import web
from pydantic import SecretStr

from bot.observability import SCRUBBED, scrub_event, sentry_active, serve_metrics, setup_logging, setup_sentry
from services.llm.base import ChatMessage, LLMRequest, PriceTable
from services.llm.gemini import GeminiProvider
from services.llm.openai_compat import OpenAICompatProvider
from services.llm.router import LLMRouter
from services.observability import metrics
from tests.fakes.gemini_server import FakeGeminiServer
from tests.fakes.llm_server import Answer, Fail
from tests.fakes.openai_server import FakeOpenAIServer

pytest_plugins = ["tests.fakes.fixtures"]
pytestmark = pytest.mark.filterwarnings("ignore:Inheritance class AiohttpClientSession:DeprecationWarning")

ROOT = Path(__file__).resolve().parent.parent
SECRET = "MY-SECRET-QUESTION about chapter 7"


def sentry_event() -> dict[str, Any]:
    """An event as sentry-sdk builds it for an exception raised while answering a question."""
    return {
        "level": "error",
        "platform": "python",
        "exception": {
            "values": [
                {
                    "type": "ProviderError",
                    "value": "gemini server",
                    "stacktrace": {
                        "frames": [
                            {
                                "filename": "services/chat/answer.py",
                                "function": "answer",
                                "lineno": 120,
                                "vars": {"question": SECRET, "prompt": f"Answer from the book: {SECRET}"},
                            }
                        ]
                    },
                }
            ]
        },
        "request": {
            "url": "http://bot/telegram/webhook",
            "method": "POST",
            "data": {"update_id": 1, "message": {"text": SECRET, "chat": {"id": 5}}},
            "cookies": {"session": "abc"},
        },
        "logentry": {
            "message": "answer failed for %s",
            "params": [SECRET],
            "formatted": f"answer failed {SECRET}",
        },
        "extra": {"prompt": SECRET, "book_id": 7, "callback": {"data": "q:SECRET"}},
        "breadcrumbs": {
            "values": [
                {"category": "update", "message": "message", "data": {"text": SECRET, "caption": SECRET}},
                {"category": "llm", "data": {"messages": [{"role": "user", "content": SECRET}]}},
            ]
        },
        "contexts": {"update": {"update_id": 1, "callback_data": "q:SECRET", "caption": SECRET}},
        "user": {"id": 42, "username": "reader", "ip_address": "10.0.0.1"},
        "tags": {"update_type": "message"},
    }


def test_scrubber_removes_users_text_and_keeps_the_error() -> None:
    event = scrub_event(sentry_event(), {})

    assert SECRET not in json.dumps(event) and "SECRET" not in json.dumps(event)
    [exception] = event["exception"]["values"]
    assert exception["type"] == "ProviderError"
    assert exception["stacktrace"]["frames"][0]["function"] == "answer"
    assert "vars" not in exception["stacktrace"]["frames"][0]
    assert event["request"]["data"] == SCRUBBED and event["request"]["url"] == "http://bot/telegram/webhook"
    assert event["logentry"] == {"message": "answer failed for %s"}
    assert event["extra"]["book_id"] == 7 and event["extra"]["prompt"] == SCRUBBED
    assert event["user"] == {"id": 42}
    assert event["tags"] == {"update_type": "message"}
    assert event["contexts"]["update"]["update_id"] == 1


def test_no_dsn_no_sentry() -> None:
    settings = SimpleNamespace(sentry_dsn=None, sentry_environment="test")
    assert setup_sentry(settings) is False  # type: ignore[arg-type]
    assert not sentry_active()


class FakeSentry:
    """Sentry's envelope endpoint on 127.0.0.1: keeps every envelope it is sent, decompressed."""

    def __init__(self) -> None:
        self.envelopes: list[bytes] = []
        self.app = web.Application()
        self.app.router.add_post("/api/{project}/envelope/", self.envelope)
        self.app.router.add_post("/api/{project}/store/", self.envelope)

    async def envelope(self, request: web.Request) -> web.Response:
        body = await request.read()  # aiohttp undoes gzip, deflate (and br with brotli installed)
        if body.startswith(b"\x1f\x8b"):
            body = gzip.decompress(body)
        self.envelopes.append(body)
        return web.json_response({"id": "0" * 32})

    async def __aenter__(self) -> FakeSentry:
        self.runner = web.AppRunner(self.app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()


@pytest.fixture
async def fake_sentry() -> AsyncIterator[FakeSentry]:
    async with FakeSentry() as server:
        yield server


async def test_sentry_with_a_dsn_reports_errors_without_users_text(fake_sentry: FakeSentry) -> None:
    """A separate process (Sentry is process-wide) reports an exception whose frame holds a question and
    an error log line with it as a parameter; what reaches the server has the error, not the text."""
    dsn = f"http://public@127.0.0.1:{fake_sentry.port}/1"
    script = textwrap.dedent(
        f"""
        import logging, sys
        import sentry_sdk
        import structlog
        from pydantic import SecretStr
        from types import SimpleNamespace
        from bot.observability import sentry_active, setup_sentry

        settings = SimpleNamespace(sentry_dsn=SecretStr({dsn!r}), sentry_environment="test")
        assert setup_sentry(settings) and sentry_active()
        sentry_sdk.add_breadcrumb(category="update", message="message", data={{"text": {SECRET!r}}})

        def answer(question):
            prompt = "Answer from the book: " + question
            raise ValueError("the model failed")

        with structlog.contextvars.bound_contextvars(update_id=99, user_id=4242):
            try:
                answer({SECRET!r})
            except ValueError:
                sentry_sdk.capture_exception()
        logging.getLogger("services.chat").error("answering %s failed", {SECRET!r})
        sentry_sdk.flush(10)
        """
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()[-3000:]

    events = []
    for envelope in fake_sentry.envelopes:
        for line in envelope.split(b"\n"):
            if line.startswith(b"{") and (b'"exception"' in line or b'"logentry"' in line):
                events.append(json.loads(line))
    text = b"".join(fake_sentry.envelopes)
    assert len(events) >= 2, text[:2000]
    assert b"ValueError" in text and b"the model failed" in text
    assert b"answering %s failed" in text
    assert b"MY-SECRET" not in text
    [error] = [event for event in events if "exception" in event]
    assert error["tags"]["update_id"] == "99" and error["user"] == {"id": "4242"}


async def test_llm_calls_tokens_cost_and_errors_by_provider(
    gemini_server: FakeGeminiServer, openai_server: FakeOpenAIServer
) -> None:
    prices = PriceTable({"gemini-2.5-flash": [0.30, 2.50], "gpt-4o-mini": [0.15, 0.60]})
    gemini = GeminiProvider(api_key=gemini_server.api_key or "", base_url=gemini_server.url, prices=prices)
    openai = OpenAICompatProvider(
        api_key=openai_server.api_key, base_url=openai_server.base_url, timeout=2, prices=prices
    )

    async def no_sleep(_: float) -> None:
        return None

    router = LLMRouter([gemini, openai], retries=1, timeout=5.0, sleep=no_sleep)

    def errors(provider: str) -> float:
        return sum(
            s.value
            for m in metrics.REGISTRY.collect()
            if m.name == "librarity_llm_errors"
            for s in m.samples
            if s.name.endswith("_total") and s.labels["provider"] == provider
        )

    before = {
        "gemini_failed": metrics.sample(
            "librarity_llm_calls_total", {"provider": "gemini", "outcome": "error"}
        ),
        "gemini_errors": errors("gemini"),
        "openai_ok": metrics.sample("librarity_llm_calls_total", {"provider": "openai", "outcome": "ok"}),
        "input": metrics.sample("librarity_llm_tokens_total", {"provider": "openai", "direction": "input"}),
        "output": metrics.sample("librarity_llm_tokens_total", {"provider": "openai", "direction": "output"}),
        "cost": metrics.sample("librarity_llm_cost_usd_total", {"provider": "openai"}),
    }
    gemini_server.script(Fail(500), Fail(500))
    openai_server.script(Answer("From the second provider.", input_tokens=1000, output_tokens=200))
    try:
        request = LLMRequest([ChatMessage("user", "Who is the hero?")])
        result = await router.generate(request)
    finally:
        await router.aclose()

    assert result.usage.provider == "openai"
    sample = metrics.sample
    assert sample("librarity_llm_calls_total", {"provider": "gemini", "outcome": "error"}) == (
        before["gemini_failed"] + 1
    )
    assert errors("gemini") == before["gemini_errors"] + 1
    assert (
        sample("librarity_llm_calls_total", {"provider": "openai", "outcome": "ok"})
        == before["openai_ok"] + 1
    )
    assert sample("librarity_llm_tokens_total", {"provider": "openai", "direction": "input"}) == (
        before["input"] + 1000
    )
    assert sample("librarity_llm_tokens_total", {"provider": "openai", "direction": "output"}) == (
        before["output"] + 200
    )
    assert sample("librarity_llm_cost_usd_total", {"provider": "openai"}) > before["cost"]


async def test_a_task_counts_its_runs_and_puts_its_id_on_log_lines() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = setup_logging("INFO", "json", stream=stream)
    ok = metrics.sample("librarity_tasks_total", {"task": "test_task", "outcome": "ok"})
    failed = metrics.sample("librarity_tasks_total", {"task": "test_task", "outcome": "error"})
    try:
        with metrics.track_task("test_task", "t-123", book_id=7):
            logging.getLogger("services.jobs").info("reading the book")
            structlog.get_logger("services.jobs").info("book read", pages=3)
        with pytest.raises(RuntimeError), metrics.track_task("test_task", "t-124"):
            raise RuntimeError("failed")
        logging.getLogger("services.jobs").info("after the task")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        structlog.reset_defaults()

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["event"], line.get("task_id"), line.get("book_id")) for line in lines] == [
        ("reading the book", "t-123", 7),
        ("book read", "t-123", 7),
        ("after the task", None, None),
    ]
    assert lines[1]["pages"] == 3 and lines[0]["logger"] == "services.jobs" and lines[0]["level"] == "info"
    assert metrics.sample("librarity_tasks_total", {"task": "test_task", "outcome": "ok"}) == ok + 1
    assert metrics.sample("librarity_tasks_total", {"task": "test_task", "outcome": "error"}) == failed + 1
    assert metrics.sample("librarity_task_seconds_count", {"task": "test_task"}) >= 2


async def test_ingestion_listener_counts_books_and_pages() -> None:
    listener = metrics.IngestionMetrics()
    ready = metrics.sample("librarity_books_total", {"outcome": "ready"})
    failed = metrics.sample("librarity_books_total", {"outcome": "failed"})
    pages = metrics.sample("librarity_ingested_pages_total")
    speeds = metrics.sample("librarity_ingestion_pages_per_second_count")

    book = SimpleNamespace(id=1, pages=120)
    await listener(book, "queued", 0.0)
    await listener(book, "reading", 0.02)
    await listener(book, "indexing", 0.5)
    await listener(book, "ready", 1.0)
    await listener(SimpleNamespace(id=2, pages=None), "reading", 0.02)
    await listener(SimpleNamespace(id=2, pages=None), "failed", 0.1)

    assert metrics.sample("librarity_books_total", {"outcome": "ready"}) == ready + 1
    assert metrics.sample("librarity_books_total", {"outcome": "failed"}) == failed + 1
    assert metrics.sample("librarity_ingested_pages_total") == pages + 120
    assert metrics.sample("librarity_ingestion_pages_per_second_count") == speeds + 1


async def test_metrics_port_serves_the_process_metrics() -> None:
    metrics.set_queue_depth("test_queue", 5)
    runner = await serve_metrics("127.0.0.1", 0)
    try:
        port = runner.addresses[0][1]
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                assert response.status == 200
                body = await response.text()
            async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                assert response.status == 200
    finally:
        await runner.cleanup()
    assert 'librarity_queue_depth{queue="test_queue"} 5.0' in body


def test_settings_read_the_observability_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from bot.settings import load_settings

    monkeypatch.setenv("LOG_FORMAT", "json")
    monkeypatch.setenv("METRICS_PORT", "9100")
    monkeypatch.setenv("SENTRY_DSN", "http://public@127.0.0.1:9/1")
    settings = load_settings(_env_file=None, data_dir=tmp_path)
    assert (settings.log_format, settings.metrics_port) == ("json", 9100)
    assert isinstance(settings.sentry_dsn, SecretStr)


async def test_taskiq_tasks_carry_their_id_on_log_lines_and_are_counted() -> None:
    from taskiq import InMemoryBroker

    from services.observability.tasks import TaskMetricsMiddleware, queue_depth

    broker = InMemoryBroker(await_inplace=False)
    broker.add_middlewares(TaskMetricsMiddleware())

    async def read_test_book(book_id: int) -> int:
        logging.getLogger("services.tasks").info("reading book")
        if book_id < 0:
            raise ValueError("no such book")
        await asyncio.sleep(0.01)
        return book_id

    task = broker.register_task(read_test_book, task_name="read_test_book")
    ok = metrics.sample("librarity_tasks_total", {"task": "read_test_book", "outcome": "ok"})
    failed = metrics.sample("librarity_tasks_total", {"task": "read_test_book", "outcome": "error"})
    sent = metrics.sample("librarity_tasks_sent_total", {"task": "read_test_book"})

    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = setup_logging("INFO", "json", stream=stream)
    await broker.startup()
    try:
        good = await task.kiq(7)
        assert await queue_depth(broker) == 1  # running in this process now
        bad = await task.kiq(-1)
        assert (await good.wait_result(timeout=10)).return_value == 7
        assert (await bad.wait_result(timeout=10)).is_err
        for _ in range(100):
            if not broker._running_tasks:
                break
            await asyncio.sleep(0.01)
    finally:
        await broker.shutdown()
        root.removeHandler(handler)
        root.setLevel(level)
        structlog.reset_defaults()

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    reading = [line for line in lines if line["event"] == "reading book"]
    assert {(line["task"], line["task_arg"]) for line in reading} == {
        ("read_test_book", 7),
        ("read_test_book", -1),
    }
    assert {line["task_id"] for line in reading} == {good.task_id, bad.task_id}
    assert metrics.sample("librarity_tasks_total", {"task": "read_test_book", "outcome": "ok"}) == ok + 1
    assert (
        metrics.sample("librarity_tasks_total", {"task": "read_test_book", "outcome": "error"}) == failed + 1
    )
    assert metrics.sample("librarity_tasks_sent_total", {"task": "read_test_book"}) == sent + 2


async def test_queue_depth_of_a_redis_stream(redis_url: str, redis_prefix: str) -> None:
    """Three tasks sent to a Redis stream with no worker: the depth is 3 (the consumer group's lag)."""
    from redis.asyncio import Redis
    from taskiq_redis import RedisStreamBroker

    from services.observability.tasks import queue_depth

    queue = f"{redis_prefix}tasks"
    broker = RedisStreamBroker(redis_url, queue_name=queue, consumer_group_name="workers")

    async def noop(n: int) -> int:
        return n

    task = broker.register_task(noop, task_name="noop_for_depth")
    await broker.startup()
    try:
        assert await queue_depth(broker) == 0
        for n in range(3):
            await task.kiq(n)
        assert await queue_depth(broker) == 3
    finally:
        await broker.shutdown()
        async with Redis.from_url(redis_url) as redis:
            await redis.delete(queue)


async def test_updates_by_outcome_and_the_errors_handler_logs_with_the_ids() -> None:
    """A dispatcher with the observability middlewares: a handled message, one whose handler raises
    (answered by the errors handler, which logs with the update's ids), and a button nobody handles."""
    from datetime import UTC, datetime

    from aiogram import Bot, Dispatcher, F
    from aiogram.types import CallbackQuery, Chat, ErrorEvent, Message, Update, User

    from bot.middlewares.observability import install

    dp = Dispatcher()
    install(dp)

    @dp.message(F.text == "ok")
    async def fine(message: Message) -> None:
        return None

    @dp.message(F.text == "boom")
    async def boom(message: Message) -> None:
        raise RuntimeError("the handler failed")

    @dp.errors()
    async def errors(event: ErrorEvent) -> bool:
        logging.getLogger("handlers.errors").error("update failed: %s", event.exception)
        return True

    user = User(id=4242, is_bot=False, first_name="Reader")
    chat = Chat(id=4242, type="private")

    def message(update_id: int, text: str) -> Update:
        sent = Message(message_id=update_id, date=datetime.now(UTC), chat=chat, from_user=user, text=text)
        return Update(update_id=update_id, message=sent)

    tap = Update(
        update_id=3, callback_query=CallbackQuery(id="1", from_user=user, chat_instance="c", data="nobody")
    )
    counts = {
        (kind, outcome): metrics.sample("librarity_updates_total", {"type": kind, "outcome": outcome})
        for kind, outcome in [("message", "handled"), ("message", "error"), ("callback_query", "unhandled")]
    }
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = setup_logging("INFO", "json", stream=stream)
    bot = Bot("123456:TEST-TOKEN-NEVER-USED")
    try:
        await dp.feed_update(bot, message(1, "ok"))
        await dp.feed_update(bot, message(2, "boom"))
        await dp.feed_update(bot, tap)
    finally:
        await bot.session.close()
        root.removeHandler(handler)
        root.setLevel(level)
        structlog.reset_defaults()

    for (kind, outcome), before in counts.items():
        assert metrics.sample("librarity_updates_total", {"type": kind, "outcome": outcome}) == before + 1
    [failed] = [json.loads(line) for line in stream.getvalue().splitlines() if "update failed" in line]
    assert (failed["update_id"], failed["user_id"], failed["level"]) == (2, 4242, "error")
