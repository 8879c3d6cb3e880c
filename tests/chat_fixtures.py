"""Fixtures shared by the chat tests: a seeded Firebird book in a real index and a router on a fake OpenAI."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from services.chat import UsageRecorder
from services.llm import LLMRouter, build_router
from services.search.index import SearchIndex
from tests.chat_helpers import new_index, seed_book
from tests.fakes.openai_server import FakeOpenAIServer

USER = 101


@pytest.fixture
async def index(tmp_path: Path) -> AsyncIterator[SearchIndex]:
    index = new_index(tmp_path)
    yield index
    await index.close()


@pytest.fixture
async def book_id(session_factory: async_sessionmaker[AsyncSession], index: SearchIndex) -> int:
    return await seed_book(session_factory, index, user_id=USER)


@pytest.fixture
def openai_router(
    make_settings: Callable[..., Settings],
    openai_server: FakeOpenAIServer,
    session_factory: async_sessionmaker[AsyncSession],
) -> LLMRouter:
    settings = make_settings(
        openai_api_key=openai_server.api_key,
        openai_base_url=openai_server.base_url,
        llm_order="openai",
        llm_retries=0,
        llm_timeout_seconds=2,
    )
    router = build_router(settings, usage_sink=UsageRecorder(session_factory))
    assert router is not None
    return router
