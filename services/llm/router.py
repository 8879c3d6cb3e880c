"""The LLM router: providers in LLM_ORDER order, with timeouts, retries with backoff, and fallback.

- Each call tries the providers in order. A provider gets `retries` more attempts after a timeout, a 429
  or a 5xx, waiting with exponential backoff and jitter (at least Retry-After when the provider says so;
  a Retry-After longer than `max_retry_after` moves on at once). Auth, config and bad-response errors
  move to the next provider without retrying. When every provider fails: `AllProvidersFailed`, and the
  chat layer answers extractively.
- A stream may move to the next provider only before its first chunk was yielded; a failure after that
  is raised to the reader as the `ProviderError` it is.
- Health: a provider whose calls fail `down_after` times in a row (at once for auth/config errors) is
  down: skipped for `cooldown` seconds, then probed with a single attempt. Listeners hear when a
  provider goes down and when it comes back.
- The usage of every successful call goes to `usage_sink` (the chat and credits layers record it).
- At most `max_concurrency` calls (a stream: until it is closed) run at once; the others wait their turn.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.llm.base import (
    LLMError,
    LLMProvider,
    LLMRequest,
    LLMResult,
    LLMStream,
    LLMUsage,
    PriceTable,
    ProviderError,
    StreamSource,
)
from services.observability import metrics

if TYPE_CHECKING:
    from services.config import ServiceSettings

logger = logging.getLogger(__name__)

UsageSink = Callable[[LLMUsage], Awaitable[None]]

# Prices (USD per 1M tokens: input, output) of the default models; LLM_PRICES adds to and overrides them.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gemini-2.5-flash": (0.30, 2.50),
    "gpt-4o-mini": (0.15, 0.60),
}

KNOWN_PROVIDERS = ("gemini", "openai")


class AllProvidersFailed(LLMError):
    """No provider produced an answer. `errors` holds the last error of each provider tried;
    `skipped` names the providers that were down and not tried."""

    def __init__(self, errors: Sequence[ProviderError], skipped: Sequence[str] = ()) -> None:
        self.errors = list(errors)
        self.skipped = list(skipped)
        tried = "; ".join(str(e) for e in self.errors) or "none tried"
        down = f" (down: {', '.join(self.skipped)})" if self.skipped else ""
        super().__init__(f"every LLM provider failed: {tried}{down}")


@dataclass(frozen=True, slots=True)
class HealthEvent:
    """A provider went down (`up` False, with the error that did it) or came back (`up` True)."""

    provider: str
    up: bool
    error: ProviderError | None = None
    down_for_seconds: float | None = None


HealthListener = Callable[[HealthEvent], Awaitable[None]]


@dataclass(slots=True)
class ProviderHealth:
    name: str
    up: bool = True
    consecutive_failures: int = 0
    last_error: ProviderError | None = None
    down_since: float | None = None
    # While down, the provider is skipped until this moment (the router's clock).
    retry_at: float = 0.0


class LLMRouter:
    """Answers from the first provider that can; see the module docstring for the rules."""

    def __init__(
        self,
        providers: Sequence[LLMProvider],
        *,
        retries: int = 2,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        timeout: float = 30.0,
        max_retry_after: float = 20.0,
        down_after: int = 2,
        cooldown: float = 30.0,
        usage_sink: UsageSink | None = None,
        health_listeners: Sequence[HealthListener] = (),
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        max_concurrency: int = 8,
    ) -> None:
        if not providers:
            raise ValueError("LLMRouter needs at least one provider")
        names = [p.name for p in providers]
        if len(set(names)) != len(names):
            raise ValueError(f"provider names must be unique: {names}")
        self.providers = list(providers)
        self.retries = max(0, retries)
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.timeout = timeout
        self.max_retry_after = max_retry_after
        self.down_after = max(1, down_after)
        self.cooldown = cooldown
        self.usage_sink = usage_sink
        self._listeners: list[HealthListener] = list(health_listeners)
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._health = {name: ProviderHealth(name) for name in names}
        self._slots = asyncio.Semaphore(max_concurrency)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.providers]

    def health(self, name: str) -> ProviderHealth:
        return self._health[name]

    def add_health_listener(self, listener: HealthListener) -> None:
        self._listeners.append(listener)

    async def aclose(self) -> None:
        for provider in self.providers:
            try:
                await provider.aclose()
            except Exception:
                logger.exception("closing LLM provider %s failed", provider.name)

    async def generate(self, request: LLMRequest) -> LLMResult:
        """The first answer any provider gives; raises AllProvidersFailed."""
        async with self._slots:
            return await self._generate(request)

    async def _generate(self, request: LLMRequest) -> LLMResult:
        errors: list[ProviderError] = []
        plan, skipped = self._plan()
        for provider, attempts in plan:
            error: ProviderError | None = None
            for attempt in range(attempts):
                try:
                    async with asyncio.timeout(self.timeout):
                        result = await provider.generate(request)
                except TimeoutError:
                    error = ProviderError(provider.name, "timeout", f"no answer in {self.timeout:g}s")
                except ProviderError as exc:
                    error = exc
                else:
                    await self._succeeded(provider.name)
                    await self._record(result.usage)
                    return result
                logger.info("LLM %s attempt %d failed: %s", provider.name, attempt + 1, error)
                if not await self._wait_before_retry(error, attempt, attempts):
                    break
            assert error is not None
            errors.append(error)
            await self._failed(provider.name, error)
        raise AllProvidersFailed(errors, skipped)

    def stream(self, request: LLMRequest) -> LLMStream:
        """A streamed answer; `async with router.stream(req) as s: async for delta in s: ...`, then
        `s.result`. Raises AllProvidersFailed before the first chunk, ProviderError after it."""
        return LLMStream(self._stream_source(request))

    async def _stream_source(self, request: LLMRequest) -> StreamSource:
        async with self._slots, aclosing(self._stream_attempts(request)) as attempts:
            async for item in attempts:
                yield item

    async def _stream_attempts(self, request: LLMRequest) -> StreamSource:
        errors: list[ProviderError] = []
        plan, skipped = self._plan()
        for provider, attempts in plan:
            error: ProviderError | None = None
            for attempt in range(attempts):
                started = False
                try:
                    async with provider.stream(request) as upstream:
                        deltas = aiter(upstream)
                        while True:
                            # The timeout bounds the wait for each chunk, not the whole answer.
                            try:
                                async with asyncio.timeout(self.timeout):
                                    delta = await anext(deltas)
                            except StopAsyncIteration:
                                break
                            started = True
                            yield delta
                        result = upstream.result
                except TimeoutError:
                    error = ProviderError(provider.name, "timeout", f"no chunk in {self.timeout:g}s")
                except ProviderError as exc:
                    error = exc
                else:
                    await self._succeeded(provider.name)
                    await self._record(result.usage)
                    yield result
                    return
                if started:
                    # The reader has shown part of this answer; another provider cannot continue it.
                    await self._failed(provider.name, error)
                    raise error
                logger.info("LLM %s stream attempt %d failed: %s", provider.name, attempt + 1, error)
                if not await self._wait_before_retry(error, attempt, attempts):
                    break
            assert error is not None
            errors.append(error)
            await self._failed(provider.name, error)
        raise AllProvidersFailed(errors, skipped)

    def _plan(self) -> tuple[list[tuple[LLMProvider, int]], list[str]]:
        """Which providers to try now and how many attempts each gets; and which are skipped."""
        now = self._clock()
        plan: list[tuple[LLMProvider, int]] = []
        skipped: list[str] = []
        for provider in self.providers:
            health = self._health[provider.name]
            if health.up:
                plan.append((provider, self.retries + 1))
            elif now >= health.retry_at:
                # One probe at a time: concurrent calls keep skipping it until the probe is over.
                health.retry_at = now + self.cooldown
                plan.append((provider, 1))
            else:
                skipped.append(provider.name)
        return plan, skipped

    async def _wait_before_retry(self, error: ProviderError, attempt: int, attempts: int) -> bool:
        """Sleep before the next attempt at the same provider; False when there should be none."""
        if not error.retryable or attempt + 1 >= attempts:
            return False
        delay = self.backoff_delay(attempt)
        if error.retry_after is not None:
            if error.retry_after > self.max_retry_after:
                return False
            delay = max(delay, error.retry_after)
        await self._sleep(delay)
        return True

    def backoff_delay(self, attempt: int) -> float:
        """Exponential backoff with jitter: between half and all of base * 2**attempt (capped)."""
        ceiling = min(self.backoff_max, self.backoff_base * 2**attempt)
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    async def _record(self, usage: LLMUsage) -> None:
        metrics.observe_llm_success(usage.provider, usage.input_tokens, usage.output_tokens, usage.cost_usd)
        if self.usage_sink is None:
            return
        try:
            await self.usage_sink(usage)
        except Exception:
            # The user already has the answer; losing one usage record must not take it away.
            logger.exception("recording LLM usage failed: %s", usage)

    async def _succeeded(self, name: str) -> None:
        health = self._health[name]
        health.consecutive_failures = 0
        if health.up:
            return
        down_for = None if health.down_since is None else self._clock() - health.down_since
        health.up, health.down_since, health.retry_at = True, None, 0.0
        logger.warning("LLM provider %s is back", name)
        await self._notify(HealthEvent(name, up=True, down_for_seconds=down_for))

    async def _failed(self, name: str, error: ProviderError) -> None:
        metrics.observe_llm_failure(name, error.kind)
        health = self._health[name]
        health.consecutive_failures += 1
        health.last_error = error
        now = self._clock()
        if not health.up:
            health.retry_at = now + self.cooldown
            return
        if health.consecutive_failures < self.down_after and error.kind not in ("auth", "config"):
            return
        health.up, health.down_since, health.retry_at = False, now, now + self.cooldown
        logger.warning("LLM provider %s is down: %s", name, error)
        await self._notify(HealthEvent(name, up=False, error=error))

    async def _notify(self, event: HealthEvent) -> None:
        for listener in self._listeners:
            try:
                await listener(event)
            except Exception:
                logger.exception("LLM health listener failed on %s", event)


def build_router(settings: ServiceSettings, *, usage_sink: UsageSink | None = None) -> LLMRouter | None:
    """The router for the providers LLM_ORDER names and the settings configure; None when none is."""
    prices = PriceTable({**DEFAULT_PRICES, **settings.llm_prices})
    timeout = settings.llm_timeout_seconds
    providers: list[LLMProvider] = []
    for name in dict.fromkeys(n.strip().lower() for n in settings.llm_order if n.strip()):
        if name not in KNOWN_PROVIDERS:
            raise ValueError(
                f"Setting LLM_ORDER names an unknown provider {name!r} (known: {', '.join(KNOWN_PROVIDERS)})"
            )
        if name == "gemini" and settings.gemini_api_key:
            from services.llm.gemini import GeminiProvider

            providers.append(
                GeminiProvider(
                    api_key=settings.gemini_api_key.get_secret_value(),
                    model=settings.gemini_model,
                    base_url=settings.gemini_base_url,
                    timeout=timeout,
                    prices=prices,
                )
            )
        elif name == "openai" and (settings.openai_api_key or settings.openai_base_url):
            from services.llm.openai_compat import OpenAICompatProvider

            key = settings.openai_api_key
            providers.append(
                OpenAICompatProvider(
                    api_key=key.get_secret_value() if key else None,
                    model=settings.openai_model,
                    base_url=settings.openai_base_url,
                    timeout=timeout,
                    prices=prices,
                )
            )
    if not providers:
        logger.info("no LLM provider configured; answers are extractive")
        return None
    logger.info("LLM providers in order: %s", ", ".join(p.name for p in providers))
    return LLMRouter(
        providers,
        retries=settings.llm_retries,
        timeout=timeout,
        usage_sink=usage_sink,
        max_concurrency=settings.llm_max_concurrency,
    )
