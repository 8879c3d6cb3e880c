"""Prometheus metrics of one process (the bot, a worker, the scheduler), served on /metrics.

The metric objects live here so that any layer can count what it does; the helpers below are the one
way to move them, so label values stay few and known. Names (all prefixed `librarity_`):

- updates_total{type, outcome}          updates by Telegram type (message, callback_query, ...) and outcome
                                        (handled, unhandled: no handler wanted it, error: a handler raised)
- update_seconds{type}                  time from an update's arrival to its handler's end (the reply sent)
- llm_calls_total{provider, outcome}    answers asked of a provider: ok, or error (all attempts failed)
- llm_errors_total{provider, kind}      failed calls by kind (timeout, rate_limit, auth, server, ...)
- llm_tokens_total{provider, direction} tokens sent (input) and received (output)
- llm_cost_usd_total{provider}          what the calls cost, in US dollars
- queue_depth{queue}                    background work waiting (set by whoever reads the queue)
- tasks_total{task, outcome}            background tasks finished: ok, error (task: books.read, ...)
- task_seconds{task}                    how long a background task ran
- books_total{outcome}                  books read: ready, failed
- ingested_pages_total                  pages of books that became ready
- ingestion_pages_per_second            one histogram sample per ready book (pages / seconds to ready)
- payments_total{provider, outcome}     payments: credited, duplicate (redelivered), rejected, refunded
- payment_amount_total{provider, currency}  money credited, in the currency's smallest unit (Stars: XTR)
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import structlog
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

disable_created_metrics()  # no `_created` series beside every counter: they only add noise to scrapes

# Our own registry (not the library's global one), with the process's memory, CPU and GC beside ours.
REGISTRY = CollectorRegistry(auto_describe=True)
for _collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
    REGISTRY.register(_collector)
CONTENT_TYPE = CONTENT_TYPE_LATEST

# Replies are meant to come within a second; LLM answers and uploads take longer.
_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_TASK_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)
_PAGES_PER_SECOND_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500)

UPDATES = Counter(
    "librarity_updates_total", "Updates handled, by type and outcome", ["type", "outcome"], registry=REGISTRY
)
UPDATE_SECONDS = Histogram(
    "librarity_update_seconds",
    "Time from an update's arrival to its handler's end (the reply sent)",
    ["type"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
LLM_CALLS = Counter(
    "librarity_llm_calls_total",
    "Answers asked of an LLM provider",
    ["provider", "outcome"],
    registry=REGISTRY,
)
LLM_ERRORS = Counter(
    "librarity_llm_errors_total", "Failed LLM calls by kind of error", ["provider", "kind"], registry=REGISTRY
)
LLM_TOKENS = Counter(
    "librarity_llm_tokens_total", "LLM tokens, input and output", ["provider", "direction"], registry=REGISTRY
)
LLM_COST = Counter("librarity_llm_cost_usd_total", "LLM cost in US dollars", ["provider"], registry=REGISTRY)
QUEUE_DEPTH = Gauge("librarity_queue_depth", "Background work waiting", ["queue"], registry=REGISTRY)
TASKS = Counter("librarity_tasks_total", "Background tasks finished", ["task", "outcome"], registry=REGISTRY)
TASK_SECONDS = Histogram(
    "librarity_task_seconds",
    "How long a background task ran",
    ["task"],
    buckets=_TASK_BUCKETS,
    registry=REGISTRY,
)
BOOKS = Counter("librarity_books_total", "Books read, by outcome", ["outcome"], registry=REGISTRY)
INGESTED_PAGES = Counter(
    "librarity_ingested_pages_total", "Pages of books that became ready", registry=REGISTRY
)
INGESTION_SPEED = Histogram(
    "librarity_ingestion_pages_per_second",
    "Pages per second of each book that became ready (from reading to ready)",
    buckets=_PAGES_PER_SECOND_BUCKETS,
    registry=REGISTRY,
)
PAYMENTS = Counter(
    "librarity_payments_total", "Payments by outcome", ["provider", "outcome"], registry=REGISTRY
)
PAYMENT_AMOUNT = Counter(
    "librarity_payment_amount_total",
    "Money credited, in the currency's smallest unit",
    ["provider", "currency"],
    registry=REGISTRY,
)


def render() -> bytes:
    """The text exposition format of every metric of this process."""
    return generate_latest(REGISTRY)


def sample(name: str, labels: dict[str, str] | None = None) -> float:
    """One sample's current value (0 when it was never set): for tests and the CLI."""
    value = REGISTRY.get_sample_value(name, labels or {})
    return 0.0 if value is None else value


# ------------------------------------------------------------------ updates


def observe_update(update_type: str, outcome: str, seconds: float) -> None:
    UPDATES.labels(update_type, outcome).inc()
    UPDATE_SECONDS.labels(update_type).observe(seconds)


# ------------------------------------------------------------------ LLM


def observe_llm_success(provider: str, input_tokens: int, output_tokens: int, cost_usd: float) -> None:
    LLM_CALLS.labels(provider, "ok").inc()
    LLM_TOKENS.labels(provider, "input").inc(max(0, input_tokens))
    LLM_TOKENS.labels(provider, "output").inc(max(0, output_tokens))
    if cost_usd > 0:
        LLM_COST.labels(provider).inc(cost_usd)


def observe_llm_failure(provider: str, kind: str) -> None:
    LLM_CALLS.labels(provider, "error").inc()
    LLM_ERRORS.labels(provider, kind or "unknown").inc()


# ------------------------------------------------------------------ background work


def set_queue_depth(queue: str, waiting: int) -> None:
    """How much work waits in `queue` now (call it whenever the number is read)."""
    QUEUE_DEPTH.labels(queue).set(waiting)


@contextlib.contextmanager
def track_task(task: str, task_id: str | None = None, **context: Any) -> Iterator[None]:
    """Around one run of a background task: its id (and `context`, e.g. book_id) on every log line written
    meanwhile, its duration in task_seconds, its outcome in tasks_total (error when the block raises)."""
    bound = {"task": task, **({"task_id": task_id} if task_id else {}), **context}
    with structlog.contextvars.bound_contextvars(**bound):
        started = time.perf_counter()
        outcome = "error"
        try:
            yield
            outcome = "ok"
        finally:
            TASKS.labels(task, outcome).inc()
            TASK_SECONDS.labels(task).observe(time.perf_counter() - started)


# ------------------------------------------------------------------ ingestion


def observe_book_ready(pages: int | None, seconds: float | None) -> None:
    BOOKS.labels("ready").inc()
    if pages:
        INGESTED_PAGES.inc(pages)
        if seconds and seconds > 0:
            INGESTION_SPEED.observe(pages / seconds)


def observe_book_failed() -> None:
    BOOKS.labels("failed").inc()


class IngestionMetrics:
    """A listener for the ingestion service's progress events (`ingestion.subscribe(IngestionMetrics())`):
    counts ready and failed books and the pages per second of each, timed from its first reading event in
    this process (a book resumed elsewhere is counted, not timed)."""

    def __init__(self) -> None:
        self._started: dict[int, float] = {}

    async def __call__(self, book: Any, stage: str, fraction: float) -> None:
        book_id = getattr(book, "id", None)
        if book_id is None:
            return
        if stage == "reading":
            self._started.setdefault(book_id, time.perf_counter())
        elif stage == "ready":
            started = self._started.pop(book_id, None)
            seconds = None if started is None else time.perf_counter() - started
            observe_book_ready(getattr(book, "pages", None), seconds)
        elif stage == "failed":
            self._started.pop(book_id, None)
            observe_book_failed()


# ------------------------------------------------------------------ payments


def observe_payment(provider: str, outcome: str, amount: int = 0, currency: str | None = None) -> None:
    PAYMENTS.labels(provider, outcome).inc()
    if outcome == "credited" and amount > 0 and currency:
        PAYMENT_AMOUNT.labels(provider, currency).inc(amount)
