"""Builds ingestion into the AppContext: the search index (unless another feature built it), the
IngestionService (ctx.services["ingestion"]) and its chat progress adapter (["library_progress"]).

The workers start, and resume unfinished books, once the Bot exists; they stop at shutdown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.ingestion.service import IngestionConfig, IngestionService

if TYPE_CHECKING:
    from bot.app import AppContext


async def install(ctx: AppContext) -> None:
    owns_index = "search_index" not in ctx.services
    if owns_index:
        from services.search.index import build_search_index

        ctx.services["search_index"] = build_search_index(ctx.settings)
    index = ctx.services["search_index"]
    ingestion = IngestionService(ctx.session_factory, index, IngestionConfig.from_settings(ctx.settings))
    # The chat adapter renders progress; it lives with the handlers that share its texts.
    from handlers.library_progress import LibraryProgress

    progress = LibraryProgress(ctx.i18n, ctx.session_factory, ctx.storage, ingestion)
    ctx.services.update(ingestion=ingestion, library_progress=progress)

    async def on_start(ctx: AppContext) -> None:
        progress.bot = ctx.bot
        await ingestion.start()

    async def on_stop(ctx: AppContext) -> None:
        await ingestion.stop()
        await progress.close()
        if owns_index:
            await index.close()

    ctx.startup_hooks.append(on_start)
    ctx.shutdown_hooks.append(on_stop)
