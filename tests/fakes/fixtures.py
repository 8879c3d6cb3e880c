"""Pytest fixtures for the fake LLM servers; `pytest_plugins = ["tests.fakes.fixtures"]` loads them.

- `gemini_server`: a started `FakeGeminiServer` requiring the key `GEMINI_TEST_KEY`
  (settings: GEMINI_API_KEY=GEMINI_TEST_KEY, GEMINI_BASE_URL=gemini_server.url).
- `openai_server`: a started `FakeOpenAIServer` requiring the key `OPENAI_TEST_KEY`
  (settings: OPENAI_API_KEY=OPENAI_TEST_KEY, OPENAI_BASE_URL=openai_server.base_url).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.gemini_server import FakeGeminiServer
from tests.fakes.openai_server import FakeOpenAIServer

GEMINI_TEST_KEY = "gemini-test-key"
OPENAI_TEST_KEY = "sk-openai-test-key"


@pytest.fixture
async def gemini_server() -> AsyncIterator[FakeGeminiServer]:
    async with FakeGeminiServer(api_key=GEMINI_TEST_KEY) as server:
        yield server


@pytest.fixture
async def openai_server() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer(api_key=OPENAI_TEST_KEY) as server:
        yield server
