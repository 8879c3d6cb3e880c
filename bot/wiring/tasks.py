"""Builds the background work's broker into the AppContext: ctx.services["tasks"], a TaskQueue
(services/tasks) on taskiq's Redis stream broker when REDIS_URL and BOT_TOKEN are set, on its in-memory
broker otherwise.

Installed first, so the features that enqueue work (ingestion, broadcasts) find it, and stopped last.
The services the tasks need reach them through the broker's state, set when the broker starts in a
process that runs tasks: a `librarity worker` (taskiq's WORKER_STARTUP event) or, without REDIS_URL, the
bot itself.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from taskiq import TaskiqEvents, TaskiqState

from services.tasks.broker import build_broker, stop_in_process_tasks
from services.tasks.work import TaskQueue

if TYPE_CHECKING:
    from bot.context import AppContext

logger = logging.getLogger(__name__)

# The services tasks look up in the broker's state, by the name they have in ctx.services.
TASK_SERVICES = ("ingestion", "broadcasts")


async def install(ctx: AppContext) -> None:
    settings = ctx.settings
    # The sandbox (no BOT_TOKEN) is one process: its tasks run here even when REDIS_URL is set.
    broker = build_broker(
        None if settings.sandbox else settings.redis_url,
        redeliver_after=settings.task_redeliver_seconds,
        max_retries=settings.task_max_retries,
        queue_name=settings.task_queue,
    )
    tasks = TaskQueue(broker)
    ctx.services["tasks"] = tasks

    async def provide(state: TaskiqState) -> None:
        tasks.provide(**{name: ctx.services[name] for name in TASK_SERVICES if name in ctx.services})

    broker.add_event_handler(TaskiqEvents.WORKER_STARTUP, provide)
    if tasks.in_process:
        broker.add_event_handler(TaskiqEvents.CLIENT_STARTUP, provide)

    async def on_start(ctx: AppContext) -> None:
        if broker.is_worker_process or tasks.in_process:
            await broker.startup()
            return
        try:  # the bot only sends tasks: Redis being down at its start must not stop it
            await broker.startup()
        except Exception:
            logger.warning("the task queue on Redis is not reachable yet", exc_info=True)
            return
        if not await tasks.workers_seen():
            logger.warning(
                "no worker has taken tasks from %s lately: books and broadcasts wait until a "
                "`librarity worker` runs",
                settings.task_queue,
            )

    async def on_stop(ctx: AppContext) -> None:
        await stop_in_process_tasks(broker)
        await broker.shutdown()

    ctx.startup_hooks.append(on_start)
    ctx.shutdown_hooks.append(on_stop)
