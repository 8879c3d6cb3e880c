"""GeminiProvider: the real google-genai SDK against the fake Gemini server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from google.genai import _api_client as genai_api_client

from services.llm.base import ChatMessage, LLMRequest, LLMResult, PriceTable, ProviderError
from services.llm.gemini import GeminiProvider
from tests.fakes.gemini_server import FakeGeminiServer
from tests.fakes.llm_server import Answer, Fail, Hang, Malformed

pytest_plugins = ["tests.fakes.fixtures"]
# google-genai subclasses aiohttp.ClientSession, which aiohttp warns about; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:Inheritance class AiohttpClientSession:DeprecationWarning")

PRICES = PriceTable({"gemini-2.5-flash": [0.30, 2.50]})


def ask(question: str = "Who is the hero?", **kwargs: object) -> LLMRequest:
    messages = [
        ChatMessage("system", "You answer from the book only."),
        ChatMessage("user", "Hello"),
        ChatMessage("assistant", "Hi! Ask me about the book."),
        ChatMessage("user", question),
    ]
    return LLMRequest(messages, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def gemini(gemini_server: FakeGeminiServer) -> AsyncIterator[GeminiProvider]:
    provider = GeminiProvider(
        api_key=gemini_server.api_key or "", base_url=gemini_server.url, timeout=0.5, prices=PRICES
    )
    yield provider
    await provider.aclose()


async def read_stream(provider: GeminiProvider, request: LLMRequest) -> tuple[list[str], LLMResult]:
    async with provider.stream(request) as stream:
        deltas = [delta async for delta in stream]
    return deltas, stream.result


async def test_generate_sends_the_prompt_and_reports_usage_and_cost(
    gemini: GeminiProvider, gemini_server: FakeGeminiServer
) -> None:
    gemini_server.script(Answer("The hero is Ash Lad.", input_tokens=1000, output_tokens=200))

    result = await gemini.generate(ask(max_tokens=300, temperature=0.1))

    assert result.text == "The hero is Ash Lad."
    assert result.finish_reason == "stop"
    usage = result.usage
    assert (usage.provider, usage.model, usage.input_tokens, usage.output_tokens) == (
        "gemini",
        "gemini-2.5-flash",
        1000,
        200,
    )
    assert usage.cost_usd == pytest.approx((1000 * 0.30 + 200 * 2.50) / 1e6)
    [sent] = gemini_server.requests
    assert sent.model == "gemini-2.5-flash" and not sent.stream
    assert sent.system == "You answer from the book only."
    assert sent.messages == [
        ("user", "Hello"),
        ("assistant", "Hi! Ask me about the book."),
        ("user", "Who is the hero?"),
    ]
    assert (sent.max_tokens, sent.temperature) == (300, 0.1)
    assert sent.headers["x-goog-api-key"] == gemini_server.api_key


async def test_request_model_overrides_the_configured_one(
    gemini: GeminiProvider, gemini_server: FakeGeminiServer
) -> None:
    result = await gemini.generate(ask(model="gemini-2.5-pro"))

    assert gemini_server.requests[0].model == "gemini-2.5-pro"
    assert result.usage.model == "gemini-2.5-pro"
    assert result.usage.cost_usd == 0  # no price configured for it


async def test_stream_yields_chunks_then_the_result(
    gemini: GeminiProvider, gemini_server: FakeGeminiServer
) -> None:
    gemini_server.script(Answer(chunks=["Ash ", "Lad ", "wins."], input_tokens=40, output_tokens=3))

    deltas, result = await read_stream(gemini, ask(tags={"user_id": 7}))

    assert deltas == ["Ash ", "Lad ", "wins."]
    assert result.text == "Ash Lad wins."
    assert result.finish_reason == "stop"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (40, 3)
    assert result.usage.tags == {"user_id": 7}
    [sent] = gemini_server.requests
    assert sent.stream and "alt=sse" in sent.path
    assert sent.system == "You answer from the book only."


async def test_max_tokens_finish_is_reported_as_length(
    gemini: GeminiProvider, gemini_server: FakeGeminiServer
) -> None:
    gemini_server.script(Answer("Cut", finish_reason="MAX_TOKENS"))

    assert (await gemini.generate(ask())).finish_reason == "length"


async def test_result_is_not_ready_before_the_stream_ends(
    gemini: GeminiProvider, gemini_server: FakeGeminiServer
) -> None:
    async with gemini.stream(ask()) as stream:
        with pytest.raises(RuntimeError):
            _ = stream.result
        async for _delta in stream:
            break
        assert not stream.done


async def test_missing_usage_is_estimated(gemini: GeminiProvider, gemini_server: FakeGeminiServer) -> None:
    gemini_server.script(Answer("x" * 40, report_usage=False))

    result = await gemini.generate(ask())

    assert result.usage.output_tokens == 10
    assert result.usage.input_tokens > 0


async def test_wrong_key_is_an_auth_error(gemini_server: FakeGeminiServer) -> None:
    provider = GeminiProvider(api_key="wrong", base_url=gemini_server.url, timeout=0.5)
    try:
        with pytest.raises(ProviderError) as caught:
            await provider.generate(ask())
    finally:
        await provider.aclose()
    assert caught.value.kind == "auth"
    assert not caught.value.retryable


@pytest.mark.parametrize("streaming", [False, True])
async def test_rate_limit_carries_the_retry_delay(
    gemini: GeminiProvider, gemini_server: FakeGeminiServer, streaming: bool
) -> None:
    gemini_server.script(Fail(429, retry_after=3))

    with pytest.raises(ProviderError) as caught:
        if streaming:
            await read_stream(gemini, ask())
        else:
            await gemini.generate(ask())

    assert caught.value.kind == "rate_limited"
    assert caught.value.retry_after == 3
    assert caught.value.retryable


@pytest.mark.parametrize(
    ("behaviour", "kind"),
    [
        (Fail(500), "server"),
        (Fail(503), "server"),
        (Fail(404, "models/nope is not found"), "config"),
        (Malformed(), "bad_response"),
        (Malformed('{"unexpected": true}'), "bad_response"),
        (Answer(""), "bad_response"),
        (Answer("", finish_reason="SAFETY"), "bad_response"),
        (Hang(), "timeout"),
    ],
)
@pytest.mark.parametrize("streaming", [False, True])
async def test_failures_map_to_error_kinds(
    gemini: GeminiProvider,
    gemini_server: FakeGeminiServer,
    behaviour: Answer | Fail | Hang | Malformed,
    kind: str,
    streaming: bool,
) -> None:
    gemini_server.script(behaviour)

    with pytest.raises(ProviderError) as caught:
        if streaming:
            await read_stream(gemini, ask())
        else:
            await gemini.generate(ask())

    assert caught.value.provider == "gemini"
    assert caught.value.kind == kind


@pytest.mark.parametrize("drop_connection", [False, True])
async def test_truncated_stream_fails_after_the_chunks_it_sent(
    gemini: GeminiProvider, gemini_server: FakeGeminiServer, drop_connection: bool
) -> None:
    gemini_server.script(
        Answer(chunks=["One ", "two ", "three."], truncate_after=2, drop_connection=drop_connection)
    )
    received: list[str] = []

    with pytest.raises(ProviderError) as caught:
        async with gemini.stream(ask()) as stream:
            async for delta in stream:
                received.append(delta)

    assert received == ["One ", "two "]
    assert stream.text == "One two "
    assert caught.value.kind == "server"


async def test_stream_that_stalls_times_out(gemini: GeminiProvider, gemini_server: FakeGeminiServer) -> None:
    gemini_server.script(Answer(chunks=["Slow ", "answer."], chunk_delay=2))

    with pytest.raises(ProviderError) as caught:
        await read_stream(gemini, ask())

    assert caught.value.kind == "timeout"


@pytest.mark.parametrize("streaming", [False, True])
async def test_unreachable_server_is_a_server_error_without_sdk_retries(
    streaming: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    class NoImplicitRetry:
        # Unless told not to retry, the SDK sleeps 1 + random.randint(0, 9) s and retries a refused connection.
        def randint(self, *args: int) -> int:
            raise AssertionError("the SDK retried on its own")

    monkeypatch.setattr(genai_api_client, "random", NoImplicitRetry())
    async with FakeGeminiServer() as server:
        url = server.url
    provider = GeminiProvider(api_key="k", base_url=url, timeout=5)
    try:
        with pytest.raises(ProviderError) as caught:
            if streaming:
                await read_stream(provider, ask())
            else:
                await provider.generate(ask())
    finally:
        await provider.aclose()
    assert caught.value.kind == "server"
