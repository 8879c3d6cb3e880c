"""LLMRouter: retries, backoff, fallback, streaming rules, usage recording and health, with the real SDKs
against the fake Gemini and OpenAI servers."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from services.llm.base import (
    ChatMessage,
    LLMRequest,
    LLMResult,
    LLMStream,
    LLMUsage,
    PriceTable,
    ProviderError,
    StreamSource,
)
from services.llm.gemini import GeminiProvider
from services.llm.openai_compat import OpenAICompatProvider
from services.llm.router import AllProvidersFailed, HealthEvent, LLMRouter
from tests.fakes.gemini_server import FakeGeminiServer
from tests.fakes.llm_server import Answer, Fail, Hang, Malformed
from tests.fakes.openai_server import FakeOpenAIServer

pytest_plugins = ["tests.fakes.fixtures"]
# google-genai subclasses aiohttp.ClientSession, which aiohttp warns about; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:Inheritance class AiohttpClientSession:DeprecationWarning")

PRICES = PriceTable({"gemini-2.5-flash": [0.30, 2.50], "gpt-4o-mini": [0.15, 0.60]})


def ask(question: str = "Who is the hero?", **kwargs: Any) -> LLMRequest:
    return LLMRequest(
        [ChatMessage("system", "Answer from the book."), ChatMessage("user", question)], **kwargs
    )


@dataclass
class Recorder:
    """Collects what the router hands to its sinks and listeners, and the backoff sleeps."""

    usages: list[LLMUsage] = field(default_factory=list)
    events: list[HealthEvent] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    async def usage(self, usage: LLMUsage) -> None:
        self.usages.append(usage)

    async def health(self, event: HealthEvent) -> None:
        self.events.append(event)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def gemini(gemini_server: FakeGeminiServer) -> AsyncIterator[GeminiProvider]:
    provider = GeminiProvider(
        api_key=gemini_server.api_key or "", base_url=gemini_server.url, timeout=0.3, prices=PRICES
    )
    yield provider
    await provider.aclose()


@pytest.fixture
async def openai_provider(openai_server: FakeOpenAIServer) -> AsyncIterator[OpenAICompatProvider]:
    provider = OpenAICompatProvider(
        api_key=openai_server.api_key, base_url=openai_server.base_url, timeout=0.3, prices=PRICES
    )
    yield provider
    await provider.aclose()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_router(
    gemini: GeminiProvider, openai_provider: OpenAICompatProvider, recorder: Recorder, clock: Clock
) -> Callable[..., LLMRouter]:
    def make(*providers: Any, **options: Any) -> LLMRouter:
        options = {
            "retries": 2,
            "backoff_base": 0.001,
            "backoff_max": 0.01,
            "timeout": 2.0,
            "usage_sink": recorder.usage,
            "health_listeners": [recorder.health],
            "clock": clock,
            "sleep": recorder.sleep,
            "rng": random.Random(1),
            **options,
        }
        return LLMRouter(list(providers) or [gemini, openai_provider], **options)

    return make


async def read(router: LLMRouter, request: LLMRequest) -> tuple[list[str], LLMResult]:
    async with router.stream(request) as stream:
        deltas = [delta async for delta in stream]
    return deltas, stream.result


async def test_first_provider_answers_and_usage_is_recorded(
    make_router: Callable[..., LLMRouter],
    gemini_server: FakeGeminiServer,
    openai_server: FakeOpenAIServer,
    recorder: Recorder,
) -> None:
    gemini_server.script(Answer("Ash Lad.", input_tokens=2000, output_tokens=100))

    result = await make_router().generate(ask(tags={"user_id": 42, "purpose": "answer"}))

    assert result.text == "Ash Lad."
    assert not openai_server.requests
    [usage] = recorder.usages
    assert usage == result.usage
    assert (usage.provider, usage.model, usage.input_tokens, usage.output_tokens) == (
        "gemini",
        "gemini-2.5-flash",
        2000,
        100,
    )
    assert usage.cost_usd == pytest.approx((2000 * 0.30 + 100 * 2.50) / 1e6)
    assert usage.tags == {"user_id": 42, "purpose": "answer"}


async def test_rate_limit_then_success_retries_after_the_advertised_delay(
    make_router: Callable[..., LLMRouter],
    gemini_server: FakeGeminiServer,
    openai_server: FakeOpenAIServer,
    recorder: Recorder,
) -> None:
    gemini_server.script(Fail(429, retry_after=0.05), Answer("After a pause."))

    result = await make_router().generate(ask())

    assert result.text == "After a pause."
    assert len(gemini_server.requests) == 2
    assert not openai_server.requests
    assert recorder.sleeps and recorder.sleeps[0] >= 0.05
    assert [u.provider for u in recorder.usages] == ["gemini"]


async def test_backoff_grows_between_retries(
    make_router: Callable[..., LLMRouter], gemini_server: FakeGeminiServer, recorder: Recorder
) -> None:
    gemini_server.script(Fail(500), Fail(503), Answer("Third time."))

    result = await make_router(backoff_base=1.0, backoff_max=100.0).generate(ask())

    assert result.text == "Third time."
    first, second = recorder.sleeps
    assert 0.5 <= first <= 1.0 and 1.0 <= second <= 2.0


async def test_retry_after_longer_than_allowed_moves_on_at_once(
    make_router: Callable[..., LLMRouter],
    gemini_server: FakeGeminiServer,
    openai_server: FakeOpenAIServer,
    recorder: Recorder,
) -> None:
    gemini_server.script(Fail(429, retry_after=120))

    result = await make_router(max_retry_after=20).generate(ask())

    assert result.usage.provider == "openai"
    assert len(gemini_server.requests) == 1
    assert recorder.sleeps == []


async def test_server_errors_exhaust_retries_then_fall_back(
    make_router: Callable[..., LLMRouter],
    gemini_server: FakeGeminiServer,
    openai_server: FakeOpenAIServer,
    recorder: Recorder,
) -> None:
    gemini_server.default = Fail(500)
    openai_server.script(Answer("From the second provider."))

    result = await make_router(retries=2).generate(ask())

    assert result.text == "From the second provider."
    assert result.usage.provider == "openai"
    assert len(gemini_server.requests) == 3
    assert len(openai_server.requests) == 1
    assert [u.provider for u in recorder.usages] == ["openai"]


async def test_timeouts_are_retried(
    make_router: Callable[..., LLMRouter], gemini_server: FakeGeminiServer
) -> None:
    gemini_server.script(Hang(), Answer("Back in time."))

    result = await make_router().generate(ask())

    assert result.text == "Back in time."
    assert len(gemini_server.requests) == 2


async def test_router_timeout_bounds_each_attempt(
    make_router: Callable[..., LLMRouter],
    gemini_server: FakeGeminiServer,
    openai_provider: OpenAICompatProvider,
    openai_server: FakeOpenAIServer,
) -> None:
    patient = GeminiProvider(api_key=gemini_server.api_key or "", base_url=gemini_server.url, timeout=30)
    gemini_server.script(Hang())
    try:
        result = await make_router(patient, openai_provider, timeout=0.2, retries=0).generate(ask())
    finally:
        await patient.aclose()

    assert result.usage.provider == "openai"


@pytest.mark.parametrize("behaviour", [Malformed(), Fail(400, "bad request")])
async def test_bad_replies_and_config_errors_are_not_retried(
    make_router: Callable[..., LLMRouter],
    gemini_server: FakeGeminiServer,
    openai_server: FakeOpenAIServer,
    behaviour: Malformed | Fail,
) -> None:
    gemini_server.script(behaviour)

    result = await make_router().generate(ask())

    assert result.usage.provider == "openai"
    assert len(gemini_server.requests) == 1


async def test_auth_error_falls_back_and_takes_the_provider_down(
    make_router: Callable[..., LLMRouter],
    gemini_server: FakeGeminiServer,
    openai_provider: OpenAICompatProvider,
    recorder: Recorder,
) -> None:
    wrong_key = GeminiProvider(api_key="wrong", base_url=gemini_server.url, timeout=0.3)
    try:
        router = make_router(wrong_key, openai_provider, down_after=3)
        result = await router.generate(ask())
    finally:
        await wrong_key.aclose()

    assert result.usage.provider == "openai"
    assert len(gemini_server.requests) == 1
    [event] = recorder.events
    assert (event.provider, event.up) == ("gemini", False)
    assert event.error is not None and event.error.kind == "auth"
    assert not router.health("gemini").up


async def test_all_providers_failing_raises(
    make_router: Callable[..., LLMRouter],
    gemini_server: FakeGeminiServer,
    openai_server: FakeOpenAIServer,
    recorder: Recorder,
) -> None:
    gemini_server.default = Fail(503)
    openai_server.default = Malformed()

    with pytest.raises(AllProvidersFailed) as caught:
        await make_router(retries=1).generate(ask())

    assert [(e.provider, e.kind) for e in caught.value.errors] == [
        ("gemini", "server"),
        ("openai", "bad_response"),
    ]
    assert len(gemini_server.requests) == 2
    assert len(openai_server.requests) == 1
    assert recorder.usages == []


async def test_a_failing_usage_sink_does_not_lose_the_answer(
    make_router: Callable[..., LLMRouter], gemini_server: FakeGeminiServer
) -> None:
    async def broken_sink(usage: LLMUsage) -> None:
        raise RuntimeError("database is down")

    result = await make_router(usage_sink=broken_sink).generate(ask())

    assert result.text == "This is a fake answer."


async def test_stream_from_the_first_provider(
    make_router: Callable[..., LLMRouter],
    gemini_server: FakeGeminiServer,
    openai_server: FakeOpenAIServer,
    recorder: Recorder,
) -> None:
    gemini_server.script(Answer(chunks=["Ash ", "Lad."], input_tokens=30, output_tokens=2))

    deltas, result = await read(make_router(), ask())

    assert deltas == ["Ash ", "Lad."]
    assert result.text == "Ash Lad." and result.usage.provider == "gemini"
    assert [(u.provider, u.input_tokens, u.output_tokens) for u in recorder.usages] == [("gemini", 30, 2)]
    assert not openai_server.requests


async def test_stream_retries_and_falls_back_before_the_first_chunk(
    make_router: Callable[..., LLMRouter],
    gemini_server: FakeGeminiServer,
    openai_server: FakeOpenAIServer,
    recorder: Recorder,
) -> None:
    gemini_server.script(Fail(429, retry_after=0.01), Hang())
    openai_server.script(Answer(chunks=["From ", "OpenAI."]))

    deltas, result = await read(make_router(retries=1), ask())

    assert deltas == ["From ", "OpenAI."]
    assert result.usage.provider == "openai"
    assert len(gemini_server.requests) == 2
    assert [u.provider for u in recorder.usages] == ["openai"]


async def test_stream_failure_after_the_first_chunk_surfaces(
    make_router: Callable[..., LLMRouter],
    gemini_server: FakeGeminiServer,
    openai_server: FakeOpenAIServer,
    recorder: Recorder,
) -> None:
    gemini_server.script(Answer(chunks=["Half ", "an ", "answer"], truncate_after=1, drop_connection=True))
    received: list[str] = []

    with pytest.raises(ProviderError) as caught:
        async with make_router().stream(ask()) as stream:
            async for delta in stream:
                received.append(delta)

    assert received == ["Half "]
    assert caught.value.provider == "gemini"
    assert len(gemini_server.requests) == 1
    assert not openai_server.requests
    assert recorder.usages == []


async def test_stream_stall_after_the_first_chunk_surfaces_as_timeout(
    make_router: Callable[..., LLMRouter],
    gemini_server: FakeGeminiServer,
    openai_provider: OpenAICompatProvider,
) -> None:
    patient = GeminiProvider(api_key=gemini_server.api_key or "", base_url=gemini_server.url, timeout=30)
    gemini_server.script(Answer(chunks=["Slow ", "answer."], chunk_delay=0.5))
    try:
        router = make_router(patient, openai_provider, timeout=0.2)
        with pytest.raises(ProviderError) as caught:
            await read(router, ask())
    finally:
        await patient.aclose()
    assert caught.value.kind == "timeout"


async def test_stream_all_failing_raises_all_providers_failed(
    make_router: Callable[..., LLMRouter], gemini_server: FakeGeminiServer, openai_server: FakeOpenAIServer
) -> None:
    gemini_server.default = Fail(500)
    openai_server.default = Fail(502)

    with pytest.raises(AllProvidersFailed):
        await read(make_router(retries=0), ask())


async def test_health_goes_down_is_skipped_then_probed_and_comes_back(
    make_router: Callable[..., LLMRouter],
    gemini_server: FakeGeminiServer,
    openai_server: FakeOpenAIServer,
    recorder: Recorder,
    clock: Clock,
) -> None:
    router = make_router(retries=0, down_after=2, cooldown=30)
    gemini_server.default = Fail(500)

    await router.generate(ask())
    assert recorder.events == []  # one failed call is not yet "down"
    await router.generate(ask())
    [down] = recorder.events
    assert (down.provider, down.up) == ("gemini", False)
    assert down.error is not None and down.error.kind == "server"

    # While cooling down the provider is not even tried.
    await router.generate(ask())
    assert len(gemini_server.requests) == 2

    # After the cooldown one probe goes out; it fails, so the provider stays down without a new event.
    clock.now += 31
    await router.generate(ask())
    assert len(gemini_server.requests) == 3
    assert len(recorder.events) == 1

    # The next probe succeeds: the provider is back.
    gemini_server.default = Answer("I am back.")
    clock.now += 31
    result = await router.generate(ask())
    assert result.text == "I am back."
    assert [(e.provider, e.up) for e in recorder.events] == [("gemini", False), ("gemini", True)]
    assert recorder.events[1].down_for_seconds == pytest.approx(62)
    assert router.health("gemini").up


async def test_probe_gets_a_single_attempt(
    make_router: Callable[..., LLMRouter],
    gemini_server: FakeGeminiServer,
    clock: Clock,
) -> None:
    router = make_router(retries=2, down_after=1, cooldown=10)
    gemini_server.default = Fail(500)
    await router.generate(ask())
    assert len(gemini_server.requests) == 3

    clock.now += 11
    await router.generate(ask())
    assert len(gemini_server.requests) == 4


async def test_everything_down_fails_fast_without_requests(
    make_router: Callable[..., LLMRouter],
    gemini_server: FakeGeminiServer,
    openai_server: FakeOpenAIServer,
) -> None:
    router = make_router(retries=0, down_after=1, cooldown=30)
    gemini_server.default = Fail(500)
    openai_server.default = Fail(500)
    with pytest.raises(AllProvidersFailed):
        await router.generate(ask())
    sent = len(gemini_server.requests) + len(openai_server.requests)

    with pytest.raises(AllProvidersFailed) as caught:
        await router.generate(ask())

    assert caught.value.skipped == ["gemini", "openai"]
    assert caught.value.errors == []
    assert len(gemini_server.requests) + len(openai_server.requests) == sent


async def test_a_failing_health_listener_is_contained(
    make_router: Callable[..., LLMRouter], gemini_server: FakeGeminiServer
) -> None:
    async def broken(event: HealthEvent) -> None:
        raise RuntimeError("alerting is down")

    router = make_router(retries=0, down_after=1, health_listeners=[broken])
    gemini_server.default = Fail(500)

    result = await router.generate(ask())

    assert result.usage.provider == "openai"
    assert not router.health("gemini").up


def test_backoff_delay_has_jitter_within_bounds() -> None:
    class Idle:
        name = "idle"

    router = LLMRouter([Idle()], backoff_base=0.5, backoff_max=4.0, rng=random.Random(7))  # type: ignore[list-item]
    for attempt, (low, high) in enumerate([(0.25, 0.5), (0.5, 1.0), (1.0, 2.0), (2.0, 4.0), (2.0, 4.0)]):
        delays = {router.backoff_delay(attempt) for _ in range(20)}
        assert all(low <= d <= high for d in delays)
        assert len(delays) > 1


def test_router_needs_unique_providers() -> None:
    class Same:
        name = "same"

    with pytest.raises(ValueError):
        LLMRouter([])
    with pytest.raises(ValueError):
        LLMRouter([Same(), Same()])  # type: ignore[list-item]


class HeldProvider:
    """Answers only once `release` is set, counting how many of its calls are in progress at once."""

    name = "held"

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started = 0
        self.inside = 0
        self.most_inside = 0

    async def _hold(self) -> LLMResult:
        self.started += 1
        self.inside += 1
        self.most_inside = max(self.most_inside, self.inside)
        try:
            await self.release.wait()
        finally:
            self.inside -= 1
        return LLMResult("an answer", LLMUsage(self.name, "held-1", 10, 2, 0.0), "stop")

    async def generate(self, request: LLMRequest) -> LLMResult:
        return await self._hold()

    def stream(self, request: LLMRequest) -> LLMStream:
        async def source() -> StreamSource:
            result = await self._hold()
            yield result.text
            yield result

        return LLMStream(source())

    async def aclose(self) -> None:
        return None


async def settle(rounds: int = 200) -> None:
    """Let every runnable task run until it blocks (no clock involved)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


async def test_no_more_llm_calls_at_once_than_the_limit_the_rest_wait_their_turn() -> None:
    provider = HeldProvider()
    router = LLMRouter([provider], max_concurrency=3)

    async def generated() -> str:
        return (await router.generate(ask())).text

    async def streamed() -> str:
        async with router.stream(ask()) as stream:
            return "".join([delta async for delta in stream])

    calls = [asyncio.create_task(generated()) for _ in range(10)]
    calls += [asyncio.create_task(streamed()) for _ in range(10)]
    await settle()
    assert provider.started == 3 and provider.inside == 3  # 17 queued, none failed
    assert not any(call.done() for call in calls)

    provider.release.set()
    results = await asyncio.gather(*calls)

    assert provider.started == 20 and provider.most_inside == 3
    assert results == ["an answer"] * 20


async def test_a_stream_closed_early_gives_its_turn_back() -> None:
    provider = HeldProvider()
    router = LLMRouter([provider], max_concurrency=1)
    provider.release.set()
    async with router.stream(ask()) as stream:
        async for _ in stream:
            break  # the reader stops after the first chunk

    result = await asyncio.wait_for(router.generate(ask()), timeout=10)

    assert result.text == "an answer" and provider.inside == 0
