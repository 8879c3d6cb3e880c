"""Builds the chat services into the AppContext.

Services: ctx.services["llm"] (the LLMRouter, or None without providers), ["usage"] (UsageRecorder,
the router's usage sink), ["answers"] (AnswerService), ["summaries"] (SummaryService), ["study"]
(StudyService). The search index is ctx.services["search_index"]: reused when the ingestion installer
built it, else built here (Qdrant local mode allows one client per folder, so there must be only one).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from services.chat.answer import AnswerService
from services.chat.study import StudyService
from services.chat.summaries import SummaryService
from services.chat.usage import UsageRecorder
from services.llm import PriceTable, build_router
from services.llm.router import DEFAULT_PRICES
from services.search.translate import CrossLanguageSearch, QueryTranslator, book_languages

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.context import AppContext
    from bot.settings import Settings
    from services.chat.types import Retriever

logger = logging.getLogger(__name__)


def build_answer_service(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], search: Retriever | None
) -> AnswerService:
    """An AnswerService outside the bot (e.g. `librarity ask`): the router from the settings, usage recorded."""
    router = build_router(settings, usage_sink=UsageRecorder(session_factory))
    if search is not None:
        search = CrossLanguageSearch(search, QueryTranslator(router), book_languages(session_factory))
    return AnswerService(search, router)


async def install(ctx: AppContext) -> None:
    settings = ctx.settings
    usage = UsageRecorder(ctx.session_factory)
    router = ctx.services.get("llm")
    if router is None:
        router = build_router(settings, usage_sink=usage)
        if router is not None:
            ctx.shutdown_hooks.append(lambda _ctx: router.aclose())
    elif router.usage_sink is None:
        router.usage_sink = usage
    search = ctx.services.get("search_index")
    if search is None:
        from services.search.index import build_search_index

        search = build_search_index(settings)
        ctx.services["search_index"] = search

        async def close_search(_ctx: AppContext) -> None:
            await search.close()

        ctx.shutdown_hooks.append(close_search)
    prices = PriceTable({**DEFAULT_PRICES, **settings.llm_prices})
    ctx.services.update(
        llm=router,
        usage=usage,
        # A question in another language than the books: translated by the LLM for the search.
        answers=AnswerService(
            CrossLanguageSearch(search, QueryTranslator(router), book_languages(ctx.session_factory)), router
        ),
        summaries=SummaryService(router, prices=prices),
        study=StudyService(router),
    )
