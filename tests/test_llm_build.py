"""build_router from settings, and the price table."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from bot.settings import Settings
from services.llm.base import ChatMessage, LLMRequest, LLMUsage, PriceTable
from services.llm.router import build_router
from tests.fakes.gemini_server import FakeGeminiServer
from tests.fakes.llm_server import Answer, Fail
from tests.fakes.openai_server import FakeOpenAIServer

pytest_plugins = ["tests.fakes.fixtures"]
# google-genai subclasses aiohttp.ClientSession, which aiohttp warns about; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:Inheritance class AiohttpClientSession:DeprecationWarning")

MakeSettings = Callable[..., Settings]


def ask() -> LLMRequest:
    return LLMRequest([ChatMessage("user", "Who is the hero?")])


def test_no_provider_configured_means_no_router(make_settings: MakeSettings) -> None:
    assert build_router(make_settings()) is None
    assert build_router(make_settings(gemini_api_key="k", llm_order="openai")) is None


def test_unknown_provider_in_the_order_is_named(make_settings: MakeSettings) -> None:
    with pytest.raises(ValueError, match=r"LLM_ORDER.*claude"):
        build_router(make_settings(gemini_api_key="k", llm_order="gemini,claude"))


async def test_order_and_settings_reach_the_providers(
    make_settings: MakeSettings,
    gemini_server: FakeGeminiServer,
    openai_server: FakeOpenAIServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    usages: list[LLMUsage] = []

    async def sink(usage: LLMUsage) -> None:
        usages.append(usage)

    monkeypatch.setenv("LLM_PRICES", '{"gpt-4.1-mini": [0.4, 1.6]}')
    monkeypatch.setenv("LLM_ORDER", "openai, gemini")
    settings = make_settings(
        gemini_api_key=gemini_server.api_key,
        gemini_base_url=gemini_server.url,
        gemini_model="gemini-2.5-flash-lite",
        openai_api_key=openai_server.api_key,
        openai_base_url=openai_server.base_url,
        openai_model="gpt-4.1-mini",
        llm_timeout_seconds=1,
        llm_retries=0,
    )
    router = build_router(settings, usage_sink=sink)
    assert router is not None
    try:
        assert router.names == ["openai", "gemini"]
        assert (router.retries, router.timeout) == (0, 1)
        openai_server.script(Answer(input_tokens=10**6, output_tokens=10**6))
        first = await router.generate(ask())
        openai_server.script(Fail(500))
        second = await router.generate(ask())
    finally:
        await router.aclose()

    assert first.usage.provider == "openai" and first.usage.model == "gpt-4.1-mini"
    assert first.usage.cost_usd == pytest.approx(2.0)
    assert second.usage.provider == "gemini"
    assert gemini_server.requests[0].model == "gemini-2.5-flash-lite"
    assert [u.provider for u in usages] == ["openai", "gemini"]


async def test_keyless_openai_compatible_server_is_enough(make_settings: MakeSettings) -> None:
    async with FakeOpenAIServer() as local:
        router = build_router(make_settings(openai_base_url=local.base_url, openai_model="qwen2.5"))
        assert router is not None
        try:
            result = await router.generate(ask())
        finally:
            await router.aclose()
    assert result.usage.model == "qwen2.5"
    assert "Authorization" in local.requests[0].headers  # a placeholder key; the server ignores it


def test_default_models_have_prices(make_settings: MakeSettings) -> None:
    router = build_router(make_settings(gemini_api_key="k", openai_api_key="sk"))
    assert router is not None
    prices: Any = router.providers[0]._prices  # type: ignore[attr-defined]
    assert prices.price("gemini-2.5-flash") is not None
    assert prices.price("gpt-4o-mini") is not None


def test_price_table_matches_exact_then_family() -> None:
    table = PriceTable({"gpt-4o": [2.5, 10], "gpt-4o-mini": [0.15, 0.6], "gemini-2.5-flash": [0.3, 2.5]})

    assert table.price("gpt-4o-mini-2024-07-18") == (0.15, 0.6)
    assert table.price("gpt-4o-2024-08-06") == (2.5, 10)
    assert table.price("models/gemini-2.5-flash") == (0.3, 2.5)
    assert table.price("gemini-2.5-flash-001") == (0.3, 2.5)
    assert table.price("gemini-2.5-flash-latest") == (0.3, 2.5)
    assert table.price("gemini-2.5-flash-lite") is None
    assert table.price("gpt-4o-minimal") is None
    assert table.cost("gpt-4o-mini", 1_000_000, 500_000) == pytest.approx(0.45)


def test_unknown_model_costs_nothing_and_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    table = PriceTable({})
    with caplog.at_level(logging.WARNING, logger="services.llm.base"):
        assert table.cost("mystery-model", 100, 100) == 0
        assert table.cost("mystery-model", 100, 100) == 0
    assert sum("mystery-model" in r.getMessage() for r in caplog.records) == 1


@pytest.mark.parametrize("bad", [{"m": [1]}, {"m": [1, 2, 3]}, {"m": [-1, 2]}, {"m": ["x", 1]}])
def test_malformed_prices_name_the_setting(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="LLM_PRICES"):
        PriceTable(bad)


def test_a_request_needs_a_question() -> None:
    with pytest.raises(ValueError):
        LLMRequest([ChatMessage("system", "Only instructions.")])
    with pytest.raises(ValueError):
        LLMRequest([ChatMessage("user", "Hi")], max_tokens=0)
