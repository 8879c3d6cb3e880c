"""Wires what a process tells its operators: books' progress counted in the metrics
(services.observability.metrics), and, when METRICS_PORT is set, /metrics on that port (worker and
scheduler processes; the bot also serves /metrics beside /readyz, bot/web.py)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from services.observability.metrics import IngestionMetrics

if TYPE_CHECKING:
    from bot.context import AppContext

logger = logging.getLogger(__name__)


async def install(ctx: AppContext) -> None:
    state: dict[str, Any] = {}

    async def on_start(ctx: AppContext) -> None:
        ingestion = ctx.services.get("ingestion")
        if ingestion is not None and callable(getattr(ingestion, "subscribe", None)):
            state["unsubscribe"] = ingestion.subscribe(IngestionMetrics())
        port = ctx.settings.metrics_port
        if port and not (ctx.settings.webhook_url and port == ctx.settings.webhook_port):
            from bot.observability import serve_metrics

            state["server"] = await serve_metrics(ctx.settings.metrics_host, port)

    async def on_stop(ctx: AppContext) -> None:
        unsubscribe = state.pop("unsubscribe", None)
        if unsubscribe is not None:
            unsubscribe()
        server = state.pop("server", None)
        if server is not None:
            await server.cleanup()

    ctx.startup_hooks.append(on_start)
    ctx.shutdown_hooks.append(on_stop)
