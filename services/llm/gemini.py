"""Answers from Google Gemini through the google-genai SDK (the Gemini API, keyed by GEMINI_API_KEY)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from services.llm.base import (
    LLMRequest,
    LLMResult,
    LLMStream,
    PriceTable,
    ProviderError,
    StreamSource,
    parse_retry_after,
    priced_result,
)

logger = logging.getLogger(__name__)

_FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
}


class GeminiProvider:
    """`LLMProvider` for Gemini. The SDK's own retries are off: the router owns retrying."""

    def __init__(
        self,
        *,
        api_key: str,
        model: str = "gemini-2.5-flash",
        base_url: str | None = None,
        timeout: float = 30.0,
        stream_timeout: float = 600.0,
        prices: PriceTable | None = None,
        thinking_budget: int | None = None,
        name: str = "gemini",
    ) -> None:
        if not api_key:
            raise ValueError("GeminiProvider needs an API key (GEMINI_API_KEY)")
        self.name = name
        self.model = model
        self._prices = prices or PriceTable()
        self._thinking_budget = thinking_budget
        self._timeout = timeout
        # The SDK's timeout is total for a request, body included: a long stream needs a longer one,
        # and the wait for each chunk is bounded separately by `timeout`.
        self._stream_timeout_ms = int(max(timeout, stream_timeout) * 1000)
        options = types.HttpOptions(
            timeout=int(timeout * 1000),
            retry_options=types.HttpRetryOptions(attempts=1),
        )
        if base_url:
            options.base_url = base_url
        self._client = genai.Client(api_key=api_key, http_options=options)

    async def aclose(self) -> None:
        await self._client.aio.aclose()

    async def generate(self, request: LLMRequest) -> LLMResult:
        model = request.model_for(self.name) or self.model
        try:
            response = await self._client.aio.models.generate_content(
                model=model, contents=_contents(request), config=self._config(request, stream=False)
            )
        except Exception as exc:
            raise self._error(exc) from exc
        if not response.candidates:
            raise ProviderError(self.name, "bad_response", _why_empty(response))
        text, finish = _answer_piece(response)
        return self._result(request, model, text, finish, response.usage_metadata, response.model_version)

    def stream(self, request: LLMRequest) -> LLMStream:
        return LLMStream(self._stream_source(request))

    async def _stream_source(self, request: LLMRequest) -> StreamSource:
        model = request.model_for(self.name) or self.model
        parts: list[str] = []
        finish: str | None = None
        usage: types.GenerateContentResponseUsageMetadata | None = None
        model_version: str | None = None
        blocked: str | None = None
        answered = False
        try:
            async with asyncio.timeout(self._timeout):
                chunks = await self._client.aio.models.generate_content_stream(
                    model=model, contents=_contents(request), config=self._config(request, stream=True)
                )
            try:
                iterator = aiter(chunks)
                while True:
                    try:
                        # The SDK's timeout covers the whole stream; this one bounds each wait.
                        async with asyncio.timeout(self._timeout):
                            chunk = await anext(iterator)
                    except StopAsyncIteration:
                        break
                    answered = answered or bool(chunk.candidates)
                    text, reason = _answer_piece(chunk)
                    usage = chunk.usage_metadata or usage
                    model_version = chunk.model_version or model_version
                    finish = reason or finish
                    if chunk.prompt_feedback and chunk.prompt_feedback.block_reason:
                        blocked = _why_empty(chunk)
                    if text:
                        parts.append(text)
                        yield text
            finally:
                await _aclose(chunks)
        except ProviderError:
            raise
        except Exception as exc:
            raise self._error(exc) from exc
        if not answered:
            raise ProviderError(self.name, "bad_response", blocked or "no answer candidates in the stream")
        if finish is None:
            raise ProviderError(self.name, "server", "the stream ended before the answer finished")
        yield self._result(request, model, "".join(parts), finish, usage, model_version)

    def _config(self, request: LLMRequest, *, stream: bool) -> types.GenerateContentConfig:
        config = types.GenerateContentConfig(
            system_instruction=request.system_prompt,
            max_output_tokens=request.max_tokens,
            temperature=request.temperature,
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        )
        if self._thinking_budget is not None:
            config.thinking_config = types.ThinkingConfig(thinking_budget=self._thinking_budget)
        if stream:
            config.http_options = types.HttpOptions(timeout=self._stream_timeout_ms)
        return config

    def _result(
        self,
        request: LLMRequest,
        model: str,
        text: str,
        finish: str | None,
        usage: types.GenerateContentResponseUsageMetadata | None,
        model_version: str | None,
    ) -> LLMResult:
        if not text.strip():
            raise ProviderError(self.name, "bad_response", f"empty answer (finish reason {finish})")
        reported = model_version or model
        input_tokens = output_tokens = None
        if usage is not None and usage.prompt_token_count is not None:
            input_tokens = usage.prompt_token_count
            # Thinking tokens are billed as output.
            output_tokens = (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)
        return priced_result(
            self.name,
            self._prices,
            request,
            text=text,
            model=reported,
            finish=finish,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
        )

    def _error(self, exc: Exception) -> ProviderError:
        """Translate whatever the SDK or the transport raised into a ProviderError."""
        if isinstance(exc, genai_errors.APIError):
            return _api_error(self.name, exc)
        if isinstance(exc, TimeoutError):  # aiohttp and asyncio timeouts both derive from it
            return ProviderError(self.name, "timeout", str(exc) or "no reply in time")
        if isinstance(exc, ValueError):  # unparseable JSON, or JSON of the wrong shape
            return ProviderError(self.name, "bad_response", str(exc)[:300])
        if isinstance(exc, OSError) or _is_transport_error(exc):
            return ProviderError(self.name, "server", f"{type(exc).__name__}: {exc}")
        logger.warning("unexpected error from gemini", exc_info=exc)
        return ProviderError(self.name, "bad_response", f"{type(exc).__name__}: {exc}")


def _contents(request: LLMRequest) -> list[types.Content]:
    return [
        types.Content(role="model" if m.role == "assistant" else "user", parts=[types.Part(text=m.content)])
        for m in request.dialogue
    ]


def _answer_piece(response: types.GenerateContentResponse) -> tuple[str, str | None]:
    """The answer text in one response (or stream chunk) and its normalised finish reason."""
    if not response.candidates:
        return "", None
    candidate = response.candidates[0]
    text = ""
    if candidate.content and candidate.content.parts:
        text = "".join(p.text for p in candidate.content.parts if p.text and not p.thought)
    finish = None
    if candidate.finish_reason is not None:
        raw = str(getattr(candidate.finish_reason, "value", candidate.finish_reason))
        finish = _FINISH_REASONS.get(raw, raw.lower())
    return text, finish


def _why_empty(response: types.GenerateContentResponse) -> str:
    feedback = response.prompt_feedback
    if feedback and feedback.block_reason:
        return f"prompt blocked: {getattr(feedback.block_reason, 'value', feedback.block_reason)}"
    return "no answer candidates in the reply"


def _api_error(provider: str, exc: genai_errors.APIError) -> ProviderError:
    code = exc.code or 0
    message = (exc.message or str(exc))[:300]
    if code == 429:
        return ProviderError(provider, "rate_limited", message, retry_after=_retry_after(exc))
    if code in (401, 403) or _mentions_api_key(exc.details):
        return ProviderError(provider, "auth", message)
    if code == 408:
        return ProviderError(provider, "timeout", message)
    if code >= 500:
        return ProviderError(provider, "server", message, retry_after=_retry_after(exc))
    # 400 (bad request), 404 (unknown model): our configuration is wrong; retrying will not help.
    return ProviderError(provider, "config", f"{code} {message}")


def _retry_after(exc: genai_errors.APIError) -> float | None:
    headers = getattr(exc.response, "headers", None)
    if headers is not None:
        seconds = parse_retry_after(headers.get("Retry-After"))
        if seconds is not None:
            return seconds
    # The Gemini API says when to come back in a google.rpc.RetryInfo detail, e.g. "retryDelay": "17s".
    for detail in _error_details(exc.details):
        if str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            return parse_retry_after(str(detail.get("retryDelay", "")))
    return None


def _mentions_api_key(details: Any) -> bool:
    # A wrong key is a 400 INVALID_ARGUMENT with reason API_KEY_INVALID, not a 401.
    return any(detail.get("reason") == "API_KEY_INVALID" for detail in _error_details(details))


def _error_details(details: Any) -> list[Mapping[str, Any]]:
    if not isinstance(details, Mapping):
        return []
    error = details.get("error", details)
    items = error.get("details") if isinstance(error, Mapping) else None
    return [item for item in items if isinstance(item, Mapping)] if isinstance(items, list) else []


def _is_transport_error(exc: Exception) -> bool:
    # aiohttp (the SDK's async transport when installed) or httpx, without importing either here.
    module = type(exc).__module__
    return module.startswith(("aiohttp", "httpx", "httpcore"))


async def _aclose(iterator: object) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()
