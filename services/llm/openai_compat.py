"""Answers from OpenAI, or any server that speaks its Chat Completions API (Ollama, vLLM, llama.cpp).

OPENAI_BASE_URL points the SDK elsewhere; such servers often need no key, so a placeholder is sent.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import openai
from openai.types.chat import ChatCompletion

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

TokenLimitParam = Literal["max_tokens", "max_completion_tokens"]

# OpenAI-compatible servers without authentication still need a non-empty key for the SDK.
KEYLESS_PLACEHOLDER = "not-needed"


class OpenAICompatProvider:
    """`LLMProvider` for the Chat Completions API. The SDK's own retries are off: the router owns them."""

    def __init__(
        self,
        *,
        api_key: str | None,
        model: str = "gpt-4o-mini",
        base_url: str | None = None,
        timeout: float = 30.0,
        prices: PriceTable | None = None,
        token_limit_param: TokenLimitParam | None = None,
        name: str = "openai",
    ) -> None:
        if not api_key and not base_url:
            raise ValueError("OpenAICompatProvider needs OPENAI_API_KEY or OPENAI_BASE_URL")
        self.name = name
        self.model = model
        self._prices = prices or PriceTable()
        # OpenAI itself deprecated max_tokens; compatible servers mostly know only max_tokens.
        self._token_limit_param: TokenLimitParam = token_limit_param or (
            "max_tokens" if base_url else "max_completion_tokens"
        )
        # httpx applies the timeout to each read, so for a stream it limits the gap between chunks.
        self._client = openai.AsyncOpenAI(
            api_key=api_key or KEYLESS_PLACEHOLDER,
            base_url=base_url,
            timeout=timeout,
            max_retries=0,
        )

    async def aclose(self) -> None:
        await self._client.close()

    async def generate(self, request: LLMRequest) -> LLMResult:
        model = request.model_for(self.name) or self.model
        try:
            response: Any = await self._client.chat.completions.create(**self._params(request, model))
        except Exception as exc:
            raise self._error(exc) from exc
        if not isinstance(response, ChatCompletion):
            raise ProviderError(self.name, "bad_response", f"not a chat completion: {str(response)[:200]}")
        choices = getattr(response, "choices", None)
        if not isinstance(choices, list) or not choices:
            raise ProviderError(self.name, "bad_response", "no choices in the reply")
        message = getattr(choices[0], "message", None)
        text = getattr(message, "content", None)
        if not isinstance(text, str):
            raise ProviderError(self.name, "bad_response", "the reply has no text")
        usage = getattr(response, "usage", None)
        return self._result(
            request,
            getattr(response, "model", None) or model,
            text,
            getattr(choices[0], "finish_reason", None),
            getattr(usage, "prompt_tokens", None),
            getattr(usage, "completion_tokens", None),
        )

    def stream(self, request: LLMRequest) -> LLMStream:
        return LLMStream(self._stream_source(request))

    async def _stream_source(self, request: LLMRequest) -> StreamSource:
        model = request.model_for(self.name) or self.model
        reported = model
        parts: list[str] = []
        finish: str | None = None
        input_tokens: int | None = None
        output_tokens: int | None = None
        answered = False
        try:
            chunks = await self._client.chat.completions.create(
                **self._params(request, model),
                stream=True,
                stream_options={"include_usage": True},
            )
            try:
                async for chunk in chunks:
                    reported = getattr(chunk, "model", None) or reported
                    usage = getattr(chunk, "usage", None)
                    if usage is not None:
                        input_tokens = getattr(usage, "prompt_tokens", None)
                        output_tokens = getattr(usage, "completion_tokens", None)
                    for choice in getattr(chunk, "choices", None) or []:
                        answered = True
                        if getattr(choice, "index", 0) != 0:
                            continue
                        finish = getattr(choice, "finish_reason", None) or finish
                        text = getattr(getattr(choice, "delta", None), "content", None)
                        if text:
                            parts.append(text)
                            yield text
            finally:
                await chunks.close()
        except ProviderError:
            raise
        except Exception as exc:
            raise self._error(exc) from exc
        if not answered:
            raise ProviderError(self.name, "bad_response", "no choices in the stream")
        if finish is None:
            raise ProviderError(self.name, "server", "the stream ended before the answer finished")
        yield self._result(request, reported, "".join(parts), finish, input_tokens, output_tokens)

    def _params(self, request: LLMRequest, model: str) -> dict[str, Any]:
        return {
            "model": model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "temperature": request.temperature,
            self._token_limit_param: request.max_tokens,
        }

    def _result(
        self,
        request: LLMRequest,
        model: str,
        text: str,
        finish: str | None,
        input_tokens: int | None,
        output_tokens: int | None,
    ) -> LLMResult:
        if not text.strip():
            raise ProviderError(self.name, "bad_response", f"empty answer (finish reason {finish})")
        # Some compatible servers ignore stream_options.include_usage: priced_result estimates then.
        known = isinstance(input_tokens, int) and isinstance(output_tokens, int)
        return priced_result(
            self.name,
            self._prices,
            request,
            text=text,
            model=model,
            finish=finish,
            input_tokens=input_tokens if known else None,
            output_tokens=output_tokens if known else None,
        )

    def _error(self, exc: Exception) -> ProviderError:
        """Translate whatever the SDK raised into a ProviderError."""
        name = self.name
        if isinstance(exc, openai.APITimeoutError):
            return ProviderError(name, "timeout", "no reply in time")
        if isinstance(exc, openai.APIConnectionError):
            return ProviderError(name, "server", f"cannot reach the server: {exc.__cause__ or exc}")
        if isinstance(exc, openai.APIStatusError):
            return _status_error(name, exc)
        if isinstance(exc, openai.APIResponseValidationError | ValueError):
            return ProviderError(name, "bad_response", str(exc)[:300])
        if isinstance(exc, openai.APIError):  # an error event inside a stream
            return ProviderError(name, "server", str(exc)[:300])
        if isinstance(exc, openai.OpenAIError):
            return ProviderError(name, "config", str(exc)[:300])
        if isinstance(exc, TimeoutError):
            return ProviderError(name, "timeout", "no reply in time")
        logger.warning("unexpected error from %s", name, exc_info=exc)
        return ProviderError(name, "bad_response", f"{type(exc).__name__}: {exc}")


def _status_error(provider: str, exc: openai.APIStatusError) -> ProviderError:
    status = exc.status_code
    message = str(exc.message)[:300]
    if status == 429:
        return ProviderError(provider, "rate_limited", message, retry_after=_retry_after(exc))
    if status in (401, 403):
        return ProviderError(provider, "auth", message)
    if status == 408:
        return ProviderError(provider, "timeout", message)
    if status >= 500:
        return ProviderError(provider, "server", message, retry_after=_retry_after(exc))
    return ProviderError(provider, "config", f"{status} {message}")


def _retry_after(exc: openai.APIStatusError) -> float | None:
    headers = exc.response.headers
    millis = parse_retry_after(headers.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000
    return parse_retry_after(headers.get("retry-after"))
