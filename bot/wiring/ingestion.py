"""Builds ingestion into the AppContext: the search index (unless another feature built it), the
IngestionService (ctx.services["ingestion"]) and its chat progress adapter (["library_progress"]).

Books are read by the background tasks (bot/wiring/tasks.py, installed here first when no feature did
it before): in this process without REDIS_URL (unfinished books are queued again at start), else by
`librarity worker` processes.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from db.engine import create_engine, create_session_factory
from db.migrate import upgrade_async
from services.ingestion.service import IngestionConfig, IngestionService

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from bot.context import AppContext
    from bot.settings import Settings


async def install(ctx: AppContext) -> None:
    if "tasks" not in ctx.services:
        from bot.wiring.tasks import install as install_tasks

        await install_tasks(ctx)
    owns_index = "search_index" not in ctx.services
    if owns_index:
        from services.search.index import build_search_index

        ctx.services["search_index"] = build_search_index(ctx.settings)
    index = ctx.services["search_index"]
    ingestion = IngestionService(
        ctx.session_factory, index, IngestionConfig.from_settings(ctx.settings), tasks=ctx.services["tasks"]
    )
    # The chat adapter renders progress; it lives with the handlers that share its texts.
    from handlers.library_progress import LibraryProgress

    progress = LibraryProgress(ctx.i18n, ctx.session_factory, ctx.storage, ingestion)
    ctx.services.update(ingestion=ingestion, library_progress=progress)

    async def on_start(ctx: AppContext) -> None:
        progress.bot = ctx.bot
        jobs = ctx.services.get("jobs")
        if jobs is not None:  # the nightly clean-up deletes failed books' files past their keeping time
            jobs.context.cleanups["failed_book_files"] = ingestion.forget_failed_files
        await index.ensure_collection()  # at start: an older data folder is copied in now, not on a question
        await warm_up(index)
        await ingestion.start()

    async def on_stop(ctx: AppContext) -> None:
        await ingestion.stop()
        await progress.close()
        if owns_index:
            await index.close()

    ctx.startup_hooks.append(on_start)
    ctx.shutdown_hooks.append(on_stop)


@contextlib.asynccontextmanager
async def standalone(
    settings: Settings, *, index: Any | None = None, migrate: bool = True, **overrides: Any
) -> AsyncIterator[IngestionService]:
    """The ingestion service alone, without a bot (the CLI and the benchmark): database, index, workers.

    Started, with unfinished books resumed; stopped and closed when the block ends. No other feature's
    hooks run here (an operator's `librarity ingest` charges no credits).
    """
    url = settings.effective_database_url
    if migrate:
        await upgrade_async(url)
    engine = create_engine(url)
    owns_index = index is None
    if index is None:
        from services.search.index import build_search_index

        index = build_search_index(settings)
    service = IngestionService(
        create_session_factory(engine), index, IngestionConfig.from_settings(settings, **overrides)
    )
    try:
        await service.start()
        yield service
    finally:
        await service.stop()
        if owns_index:
            await index.close()
        await engine.dispose()


async def warm_up(index: Any) -> None:
    """Load the local embedding model and run it once now, so the first question is answered as fast as
    the next (remote embedders have nothing to load and are not called)."""
    warm = getattr(index.embedder, "warm", None)
    if warm is None:
        return
    started = time.perf_counter()
    await warm()
    await index.embedder.embed_query("warm up")
    logger.info("embedding model ready in %.1f s", time.perf_counter() - started)
