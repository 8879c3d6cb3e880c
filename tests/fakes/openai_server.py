"""A fake OpenAI Chat Completions API (or any OpenAI-compatible server) for the real openai SDK.

Speaks `POST /v1/chat/completions`: a `chat.completion` JSON object, or with `"stream": true` SSE of
`chat.completion.chunk` objects (role first, then content deltas, then finish_reason, then, when
`stream_options.include_usage` is set, a usage chunk with empty choices) ending with `data: [DONE]`.
Authenticated by `Authorization: Bearer <key>` when `api_key` is set (else any or no key, like Ollama);
errors as `{"error": {"message", "type", "param", "code"}}`.
Point the SDK at it with `AsyncOpenAI(base_url=server.base_url)`.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import web

from tests.fakes.llm_server import Answer, Fail, FakeLLMServer, Hang, Malformed, RecordedRequest

_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


class FakeOpenAIServer(FakeLLMServer):
    @property
    def base_url(self) -> str:
        """What OPENAI_BASE_URL is set to."""
        return f"{self.url}/v1"

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._handle)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        stream = bool(body.get("stream"))
        self.requests.append(_record(request, body, stream))
        if self.api_key is not None and request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _error(401, "Incorrect API key provided.")

        await self.pass_gate()
        behaviour = self.next_behaviour()
        if isinstance(behaviour, Hang):
            await self.hang(behaviour)
            behaviour = Answer()
        if isinstance(behaviour, Fail):
            return _error(behaviour.status, behaviour.message, retry_after=behaviour.retry_after)
        if isinstance(behaviour, Malformed):
            return self.malformed_response(behaviour, stream=stream)
        if behaviour.delay:
            await asyncio.sleep(behaviour.delay)
        model = behaviour.model or str(body.get("model"))
        finish = behaviour.finish_reason or "stop"
        usage = {
            "prompt_tokens": behaviour.input_tokens,
            "completion_tokens": behaviour.output_tokens,
            "total_tokens": behaviour.input_tokens + behaviour.output_tokens,
        }
        if not stream:
            message = {"role": "assistant", "content": behaviour.text, "refusal": None}
            reply = {
                **_envelope("chat.completion", model),
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
                "usage": usage if behaviour.report_usage else None,
            }
            return web.json_response(reply)

        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        extra = {"usage": None} if include_usage else {}

        def chunk(delta: dict[str, Any], finish_reason: str | None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            return {**_envelope("chat.completion.chunk", model), "choices": [choice], **extra}

        response = await self.start_sse(request)
        await self.send_sse(response, chunk({"role": "assistant", "content": "", "refusal": None}, None))
        for index, piece in enumerate(behaviour.pieces()):
            if behaviour.truncate_after is not None and index >= behaviour.truncate_after:
                if behaviour.drop_connection:
                    self.cut(request)
                    return response
                await response.write_eof()
                return response
            if index and behaviour.chunk_delay:
                await asyncio.sleep(behaviour.chunk_delay)
            await self.send_sse(response, chunk({"content": piece}, None))
        await self.send_sse(response, chunk({}, finish))
        if include_usage and behaviour.report_usage:
            await self.send_sse(
                response, {**_envelope("chat.completion.chunk", model), "choices": [], "usage": usage}
            )
        await self.send_sse(response, "[DONE]")
        await response.write_eof()
        return response


def _envelope(kind: str, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": kind,
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_fake",
    }


def _error(status: int, message: str, *, retry_after: float | None = None) -> web.Response:
    kind, code = _ERROR_TYPES.get(status, ("server_error", None))
    headers = {}
    if retry_after is not None:
        headers["retry-after"] = f"{retry_after:g}"
        headers["retry-after-ms"] = f"{retry_after * 1000:g}"
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return web.Response(
        status=status, text=json.dumps(body), content_type="application/json", headers=headers
    )


def _record(request: web.Request, body: Any, stream: bool) -> RecordedRequest:
    messages = [(str(m.get("role")), _text(m.get("content"))) for m in body.get("messages", [])]
    systems = [text for role, text in messages if role in ("system", "developer")]
    return RecordedRequest(
        path=request.path_qs,
        headers=dict(request.headers),
        body=body,
        model=str(body.get("model")),
        stream=stream,
        system="\n\n".join(systems) if systems else None,
        messages=messages,
        max_tokens=body.get("max_completion_tokens", body.get("max_tokens")),
        temperature=body.get("temperature"),
    )


def _text(content: Any) -> str:
    if isinstance(content, list):  # content parts
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content or "")
