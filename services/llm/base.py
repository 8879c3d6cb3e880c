"""The provider-neutral vocabulary of answer generation: requests, results, usage, errors, streams.

Every provider (Gemini, OpenAI-compatible) and the router speak these types, so the chat layer never
sees an SDK object. A streamed answer is an `LLMStream`:

    async with provider.stream(request) as stream:
        async for delta in stream:
            ...  # show the text as it arrives
    stream.result  # LLMResult with the whole text, usage and finish reason
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal, Protocol, Self, runtime_checkable

logger = logging.getLogger(__name__)

_VERSION_SUFFIX = re.compile(r"\d{4}-\d{2}-\d{2}|\d{2,8}|latest")

Role = Literal["system", "user", "assistant"]
ErrorKind = Literal["timeout", "rate_limited", "server", "bad_response", "auth", "config"]

# Kinds worth another attempt at the same provider; the others go straight to the next provider.
RETRYABLE_KINDS: frozenset[ErrorKind] = frozenset({"timeout", "rate_limited", "server"})


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class LLMRequest:
    """One generation request. `model` overrides the provider's configured model.

    `tags` travel unchanged into the `LLMUsage` of the answer (e.g. user_id, book_id, purpose), so a
    usage sink can attribute the cost without knowing who called.
    """

    messages: Sequence[ChatMessage]
    max_tokens: int = 1024
    temperature: float = 0.2
    model: str | None = None
    tags: Mapping[str, str | int] = field(default_factory=dict)
    #: Per-provider models (a paying plan's better models); wins over `model` for that provider.
    models: Mapping[str, str] = field(default_factory=dict)

    def model_for(self, provider: str) -> str | None:
        return self.models.get(provider) or self.model

    def __post_init__(self) -> None:
        if not any(m.role != "system" for m in self.messages):
            raise ValueError("an LLMRequest needs at least one user or assistant message")
        if self.max_tokens <= 0:
            raise ValueError("max_tokens must be positive")

    @property
    def system_prompt(self) -> str | None:
        """All system messages joined, or None; providers that take one instruction use this."""
        parts = [m.content for m in self.messages if m.role == "system"]
        return "\n\n".join(parts) if parts else None

    @property
    def dialogue(self) -> list[ChatMessage]:
        """The user/assistant turns, in order, without system messages."""
        return [m for m in self.messages if m.role != "system"]


@dataclass(frozen=True, slots=True)
class LLMUsage:
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    tags: Mapping[str, str | int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LLMResult:
    text: str
    usage: LLMUsage
    finish_reason: str | None


class LLMError(Exception):
    """Base of the errors answer generation raises."""


class ProviderError(LLMError):
    """A provider could not answer. `kind` decides what the router does next."""

    def __init__(
        self,
        provider: str,
        kind: ErrorKind,
        message: str = "",
        *,
        retry_after: float | None = None,
    ) -> None:
        self.provider = provider
        self.kind: ErrorKind = kind
        self.message = message
        self.retry_after = retry_after
        detail = f": {message}" if message else ""
        super().__init__(f"{provider} {kind}{detail}")

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE_KINDS


class PriceTable:
    """Prices per model in USD per 1M tokens, `{model: (input, output)}`.

    A model is found by its exact name, else by its name without a version suffix (a date, a number,
    "latest"): "gpt-4o-mini-2024-07-18" is priced as "gpt-4o-mini", but "gemini-2.5-flash-lite" is not
    taken for "gemini-2.5-flash". Unknown models cost 0 and are logged once each.
    """

    def __init__(self, prices: Mapping[str, Sequence[float]] | None = None) -> None:
        self._prices: dict[str, tuple[float, float]] = {}
        for model, pair in (prices or {}).items():
            try:
                values = tuple(float(v) for v in pair)
            except (TypeError, ValueError):
                values = ()
            if len(values) != 2 or not all(v >= 0 and math.isfinite(v) for v in values):
                raise ValueError(
                    f"Setting LLM_PRICES is invalid: {model!r} needs [usd per 1M input, usd per 1M output]"
                )
            self._prices[_bare_model(model)] = (values[0], values[1])
        self._warned: set[str] = set()

    def price(self, model: str) -> tuple[float, float] | None:
        name = _bare_model(model)
        if name in self._prices:
            return self._prices[name]
        for family in self._prices:
            suffix = name.removeprefix(family + "-")
            if suffix != name and _VERSION_SUFFIX.fullmatch(suffix):
                return self._prices[family]
        return None

    def cost(self, model: str, input_tokens: int, output_tokens: int) -> float:
        price = self.price(model)
        if price is None:
            if model not in self._warned:
                self._warned.add(model)
                logger.warning("no price for LLM model %r; its usage is recorded at cost 0", model)
            return 0.0
        return (input_tokens * price[0] + output_tokens * price[1]) / 1_000_000


def _bare_model(model: str) -> str:
    # Gemini reports "models/gemini-2.5-flash" in some places and "gemini-2.5-flash" in others.
    return model.removeprefix("models/")


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After style value: "2", "1.5", "17s" (Google's RetryInfo), else None."""
    if not value:
        return None
    text = value.strip().removesuffix("s")
    try:
        seconds = float(text)
    except ValueError:
        return None  # an HTTP date: rare for these APIs, and the backoff covers it
    return seconds if seconds >= 0 and math.isfinite(seconds) else None


def estimate_tokens(text: str) -> int:
    """A rough token count (4 characters a token) for servers that report no usage."""
    return max(1, math.ceil(len(text) / 4)) if text else 0


def priced_result(
    provider: str,
    prices: PriceTable,
    request: LLMRequest,
    *,
    text: str,
    model: str,
    finish: str | None,
    input_tokens: int | None,
    output_tokens: int | None,
) -> LLMResult:
    """The answer with its usage and cost; token counts the server did not report are estimated."""
    if input_tokens is None or output_tokens is None:
        logging.getLogger(__name__).warning("%s reported no token usage for %s; estimating", provider, model)
        input_tokens = sum(estimate_tokens(m.content) for m in request.messages)
        output_tokens = estimate_tokens(text)
    usage = LLMUsage(
        provider=provider,
        model=model,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=prices.cost(model, input_tokens, output_tokens),
        tags=request.tags,
    )
    return LLMResult(text=text, usage=usage, finish_reason=finish)


StreamSource = AsyncGenerator[str | LLMResult, None]


class LLMStream:
    """A streamed answer: iterate for text deltas, then read `result`.

    Built from a source async generator that yields text deltas and, last, exactly one `LLMResult`.
    Leaving the `async with` block (or breaking out of the loop and calling `aclose`) closes the source
    and with it the HTTP response.
    """

    def __init__(self, source: StreamSource) -> None:
        self._source = source
        self._parts: list[str] = []
        self._result: LLMResult | None = None
        self._deltas_iterator: AsyncGenerator[str, None] | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._deltas_iterator is not None:
            await self._deltas_iterator.aclose()
        await self._source.aclose()

    def __aiter__(self) -> AsyncIterator[str]:
        if self._deltas_iterator is not None:
            raise RuntimeError("an LLMStream can be iterated only once")
        self._deltas_iterator = self._deltas()
        return self._deltas_iterator

    async def _deltas(self) -> AsyncGenerator[str, None]:
        async for item in self._source:
            if isinstance(item, LLMResult):
                self._result = item
            elif item:
                self._parts.append(item)
                yield item
        if self._result is None:
            raise RuntimeError("stream source ended without a result")

    @property
    def text(self) -> str:
        """The text received so far."""
        return "".join(self._parts)

    @property
    def done(self) -> bool:
        return self._result is not None

    @property
    def result(self) -> LLMResult:
        """The finished answer; only after the stream was read to the end."""
        if self._result is None:
            raise RuntimeError("the stream has not finished yet")
        return self._result


@runtime_checkable
class LLMProvider(Protocol):
    """What every answer provider offers. Errors are always `ProviderError`."""

    name: str

    async def generate(self, request: LLMRequest) -> LLMResult: ...

    def stream(self, request: LLMRequest) -> LLMStream: ...

    async def aclose(self) -> None: ...
