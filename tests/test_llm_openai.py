"""OpenAICompatProvider: the real openai SDK against the fake Chat Completions server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.llm.base import ChatMessage, LLMRequest, LLMResult, PriceTable, ProviderError
from services.llm.openai_compat import OpenAICompatProvider
from tests.fakes.llm_server import Answer, Fail, Hang, Malformed
from tests.fakes.openai_server import FakeOpenAIServer

pytest_plugins = ["tests.fakes.fixtures"]

PRICES = PriceTable({"gpt-4o-mini": [0.15, 0.60]})


def ask(question: str = "Who is the hero?", **kwargs: object) -> LLMRequest:
    messages = [
        ChatMessage("system", "You answer from the book only."),
        ChatMessage("user", "Hello"),
        ChatMessage("assistant", "Hi! Ask me about the book."),
        ChatMessage("user", question),
    ]
    return LLMRequest(messages, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def openai_provider(openai_server: FakeOpenAIServer) -> AsyncIterator[OpenAICompatProvider]:
    provider = OpenAICompatProvider(
        api_key=openai_server.api_key, base_url=openai_server.base_url, timeout=0.3, prices=PRICES
    )
    yield provider
    await provider.aclose()


async def read_stream(provider: OpenAICompatProvider, request: LLMRequest) -> tuple[list[str], LLMResult]:
    async with provider.stream(request) as stream:
        deltas = [delta async for delta in stream]
    return deltas, stream.result


async def test_generate_sends_the_prompt_and_reports_usage_and_cost(
    openai_provider: OpenAICompatProvider, openai_server: FakeOpenAIServer
) -> None:
    openai_server.script(Answer("The hero is Ash Lad.", input_tokens=1000, output_tokens=200))

    result = await openai_provider.generate(ask(max_tokens=300, temperature=0.1))

    assert result.text == "The hero is Ash Lad."
    assert result.finish_reason == "stop"
    usage = result.usage
    assert (usage.provider, usage.model, usage.input_tokens, usage.output_tokens) == (
        "openai",
        "gpt-4o-mini",
        1000,
        200,
    )
    assert usage.cost_usd == pytest.approx((1000 * 0.15 + 200 * 0.60) / 1e6)
    [sent] = openai_server.requests
    assert sent.path == "/v1/chat/completions" and not sent.stream
    assert sent.model == "gpt-4o-mini"
    assert sent.messages == [
        ("system", "You answer from the book only."),
        ("user", "Hello"),
        ("assistant", "Hi! Ask me about the book."),
        ("user", "Who is the hero?"),
    ]
    assert sent.body["max_tokens"] == 300  # a custom base URL gets the widely supported name
    assert sent.temperature == 0.1
    assert sent.headers["Authorization"] == f"Bearer {openai_server.api_key}"
    assert sent.headers["x-stainless-retry-count"] == "0"  # the router owns retries


async def test_dated_model_names_are_priced_as_their_family(
    openai_provider: OpenAICompatProvider, openai_server: FakeOpenAIServer
) -> None:
    openai_server.script(Answer("Yes.", model="gpt-4o-mini-2024-07-18", input_tokens=10**6, output_tokens=0))

    result = await openai_provider.generate(ask())

    assert result.usage.model == "gpt-4o-mini-2024-07-18"
    assert result.usage.cost_usd == pytest.approx(0.15)


async def test_stream_yields_chunks_then_the_result_with_usage(
    openai_provider: OpenAICompatProvider, openai_server: FakeOpenAIServer
) -> None:
    openai_server.script(Answer(chunks=["Ash ", "Lad ", "wins."], input_tokens=40, output_tokens=3))

    deltas, result = await read_stream(openai_provider, ask(tags={"book_id": 3}))

    assert deltas == ["Ash ", "Lad ", "wins."]
    assert result.text == "Ash Lad wins."
    assert result.finish_reason == "stop"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (40, 3)
    assert result.usage.tags == {"book_id": 3}
    [sent] = openai_server.requests
    assert sent.stream
    assert sent.body["stream_options"] == {"include_usage": True}


async def test_stream_without_usage_is_estimated(
    openai_provider: OpenAICompatProvider, openai_server: FakeOpenAIServer
) -> None:
    # Some compatible servers ignore stream_options.include_usage.
    openai_server.script(Answer("x" * 40, report_usage=False))

    _, result = await read_stream(openai_provider, ask())

    assert result.usage.output_tokens == 10


async def test_keyless_compatible_server() -> None:
    async with FakeOpenAIServer() as server:
        provider = OpenAICompatProvider(api_key=None, base_url=server.base_url, model="llama3.1", timeout=0.3)
        try:
            result = await provider.generate(ask())
        finally:
            await provider.aclose()
    assert result.usage.model == "llama3.1"
    assert result.usage.cost_usd == 0
    assert server.requests[0].model == "llama3.1"


async def test_official_api_gets_max_completion_tokens(openai_server: FakeOpenAIServer) -> None:
    provider = OpenAICompatProvider(
        api_key=openai_server.api_key,
        base_url=openai_server.base_url,
        timeout=0.3,
        token_limit_param="max_completion_tokens",
    )
    try:
        await provider.generate(ask(max_tokens=77))
    finally:
        await provider.aclose()
    body = openai_server.requests[0].body
    assert body["max_completion_tokens"] == 77 and "max_tokens" not in body


def test_a_provider_needs_a_key_or_a_server() -> None:
    with pytest.raises(ValueError):
        OpenAICompatProvider(api_key=None, base_url=None)


async def test_wrong_key_is_an_auth_error(openai_server: FakeOpenAIServer) -> None:
    provider = OpenAICompatProvider(api_key="sk-wrong", base_url=openai_server.base_url, timeout=0.3)
    try:
        with pytest.raises(ProviderError) as caught:
            await provider.generate(ask())
    finally:
        await provider.aclose()
    assert caught.value.kind == "auth"


@pytest.mark.parametrize("streaming", [False, True])
async def test_rate_limit_carries_retry_after(
    openai_provider: OpenAICompatProvider, openai_server: FakeOpenAIServer, streaming: bool
) -> None:
    openai_server.script(Fail(429, retry_after=1.5))

    with pytest.raises(ProviderError) as caught:
        if streaming:
            await read_stream(openai_provider, ask())
        else:
            await openai_provider.generate(ask())

    assert caught.value.kind == "rate_limited"
    assert caught.value.retry_after == 1.5


@pytest.mark.parametrize(
    ("behaviour", "kind"),
    [
        (Fail(500), "server"),
        (Fail(502), "server"),
        (Fail(400, "bad parameter"), "config"),
        (Fail(404, "The model does not exist"), "config"),
        (Malformed(), "bad_response"),
        (Malformed('{"object": "chat.completion", "choices": []}'), "bad_response"),
        (Malformed("<html>proxy error</html>", content_type="text/html"), "bad_response"),
        (Answer(""), "bad_response"),
        (Hang(), "timeout"),
    ],
)
@pytest.mark.parametrize("streaming", [False, True])
async def test_failures_map_to_error_kinds(
    openai_provider: OpenAICompatProvider,
    openai_server: FakeOpenAIServer,
    behaviour: Answer | Fail | Hang | Malformed,
    kind: str,
    streaming: bool,
) -> None:
    openai_server.script(behaviour)

    with pytest.raises(ProviderError) as caught:
        if streaming:
            await read_stream(openai_provider, ask())
        else:
            await openai_provider.generate(ask())

    assert caught.value.provider == "openai"
    assert caught.value.kind == kind


@pytest.mark.parametrize("drop_connection", [False, True])
async def test_truncated_stream_fails_after_the_chunks_it_sent(
    openai_provider: OpenAICompatProvider, openai_server: FakeOpenAIServer, drop_connection: bool
) -> None:
    openai_server.script(
        Answer(chunks=["One ", "two ", "three."], truncate_after=2, drop_connection=drop_connection)
    )
    received: list[str] = []

    with pytest.raises(ProviderError) as caught:
        async with openai_provider.stream(ask()) as stream:
            async for delta in stream:
                received.append(delta)

    assert received == ["One ", "two "]
    assert caught.value.kind == "server"


async def test_stream_that_stalls_times_out(
    openai_provider: OpenAICompatProvider, openai_server: FakeOpenAIServer
) -> None:
    openai_server.script(Answer(chunks=["Slow ", "answer."], chunk_delay=2))

    with pytest.raises(ProviderError) as caught:
        await read_stream(openai_provider, ask())

    assert caught.value.kind == "timeout"


async def test_closing_a_stream_early_releases_it(
    openai_provider: OpenAICompatProvider, openai_server: FakeOpenAIServer
) -> None:
    openai_server.script(Answer(chunks=["a ", "b ", "c"]))
    async with openai_provider.stream(ask()) as stream:
        async for _delta in stream:
            break
    assert not stream.done
    # The connection is usable again: the next call answers normally.
    assert (await openai_provider.generate(ask())).text == "This is a fake answer."


async def test_a_plans_model_for_this_provider_is_used(
    openai_provider: OpenAICompatProvider, openai_server: FakeOpenAIServer
) -> None:
    openai_server.script(Answer("ok"), Answer("ok"))
    await openai_provider.generate(ask(models={"openai": "gpt-4.1", "gemini": "gemini-2.5-pro"}))
    await openai_provider.generate(ask(models={"gemini": "gemini-2.5-pro"}))
    assert [r.model for r in openai_server.requests] == ["gpt-4.1", "gpt-4o-mini"]
