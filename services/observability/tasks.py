"""Background tasks (taskiq) in the metrics and the logs: a broker middleware that puts each task's id on
every log line written while it runs and counts its runs (tasks_total, task_seconds, tasks_sent_total),
and the depth of the broker's queue (queue_depth) for a sampler to set."""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Mapping
from typing import Any

import structlog
from prometheus_client import Counter
from taskiq import TaskiqMessage, TaskiqMiddleware, TaskiqResult

from services.observability import metrics

logger = logging.getLogger(__name__)

TASKS_SENT = Counter(
    "librarity_tasks_sent_total",
    "Background tasks enqueued by this process",
    ["task"],
    registry=metrics.REGISTRY,
)


class TaskMetricsMiddleware(TaskiqMiddleware):
    """`broker.add_middlewares(TaskMetricsMiddleware())`: task, task_id (and the first argument as
    `task_arg`, e.g. the book's id) on every log line while a task runs in this process; each run counted
    with its outcome (ok, error: it raised; a retry is another run) and duration."""

    def __init__(self) -> None:
        super().__init__()
        self._running: dict[str, tuple[float, Mapping[str, contextvars.Token[Any]]]] = {}

    def post_send(self, message: TaskiqMessage) -> None:
        TASKS_SENT.labels(message.task_name).inc()

    def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        context: dict[str, Any] = {"task": message.task_name, "task_id": message.task_id}
        if message.args and isinstance(message.args[0], int | str):
            context["task_arg"] = message.args[0]
        tokens = structlog.contextvars.bind_contextvars(**context)
        self._running[message.task_id] = (time.perf_counter(), tokens)
        return message

    def post_execute(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        started, tokens = self._running.pop(message.task_id, (None, {}))
        seconds = result.execution_time if started is None else time.perf_counter() - started
        outcome = "error" if result.is_err else "ok"
        metrics.TASKS.labels(message.task_name, outcome).inc()
        metrics.TASK_SECONDS.labels(message.task_name).observe(max(0.0, seconds))
        logger.info("task %s %s in %.3fs", message.task_name, outcome, seconds)
        if tokens:
            try:
                structlog.contextvars.reset_contextvars(**tokens)
            except ValueError:  # bound in another context (the task ran elsewhere): nothing to undo here
                pass


async def queue_depth(broker: Any) -> int | None:
    """Tasks waiting or being worked on: on Redis streams, the consumer group's lag (not yet delivered)
    plus its pending deliveries (delivered, not acknowledged); in process, the tasks running now. None
    when the broker is of neither kind or cannot be read."""
    running = getattr(broker, "_running_tasks", None)
    if running is not None:
        return len(running)
    queue = getattr(broker, "queue_name", None)
    group = getattr(broker, "consumer_group_name", None)
    pool = getattr(broker, "connection_pool", None)
    if not (queue and group and pool):
        return None
    from redis.asyncio import Redis

    try:
        async with Redis(connection_pool=pool) as redis:
            groups = await redis.xinfo_groups(queue)
    except Exception:
        logger.debug("could not read the task queue's depth", exc_info=True)
        return None
    for info in groups:
        name = info.get("name")
        if (name.decode() if isinstance(name, bytes) else name) == group:
            lag = info.get("lag") or 0
            pending = info.get("pending") or 0
            return int(lag) + int(pending)
    return 0
