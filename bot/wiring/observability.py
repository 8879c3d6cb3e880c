"""Wires what a process tells its operators: books' progress and background tasks counted in the metrics
(services/observability), the task queue's depth sampled, and, when METRICS_PORT is set, /metrics,
/healthz and /readyz on that port (worker and scheduler processes; the bot serves them on its own port,
bot/web.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from services.observability.metrics import IngestionMetrics, set_queue_depth
from services.observability.tasks import TaskMetricsMiddleware, queue_depth

if TYPE_CHECKING:
    from bot.context import AppContext

logger = logging.getLogger(__name__)

QUEUE_SAMPLE_SECONDS = 15.0  # how often the task queue's depth is read (one XINFO on Redis)


async def install(ctx: AppContext) -> None:
    state: dict[str, Any] = {}
    broker = getattr(ctx.services.get("tasks"), "broker", None)
    if broker is not None and callable(getattr(broker, "add_middlewares", None)):
        broker.add_middlewares(TaskMetricsMiddleware())

    async def on_start(ctx: AppContext) -> None:
        ingestion = ctx.services.get("ingestion")
        if ingestion is not None and callable(getattr(ingestion, "subscribe", None)):
            state["unsubscribe"] = ingestion.subscribe(IngestionMetrics())
        if broker is not None:
            state["sampler"] = asyncio.create_task(_sample_queue(broker), name="task-queue-depth")
        port = ctx.settings.metrics_port
        if port and not (ctx.settings.webhook_url and port == ctx.settings.webhook_port):
            from bot.observability import serve_metrics
            from bot.web import readyz

            state["server"] = await serve_metrics(ctx.settings.metrics_host, port, readyz=readyz(ctx))

    async def on_stop(ctx: AppContext) -> None:
        unsubscribe = state.pop("unsubscribe", None)
        if unsubscribe is not None:
            unsubscribe()
        sampler = state.pop("sampler", None)
        if sampler is not None:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
        server = state.pop("server", None)
        if server is not None:
            await server.cleanup()

    ctx.startup_hooks.append(on_start)
    ctx.shutdown_hooks.append(on_stop)


async def _sample_queue(broker: Any) -> None:
    while True:
        depth = await queue_depth(broker)
        if depth is not None:
            set_queue_depth("tasks", depth)
        await asyncio.sleep(QUEUE_SAMPLE_SECONDS)
