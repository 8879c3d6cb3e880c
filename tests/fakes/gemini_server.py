"""A fake Gemini API (generativelanguage.googleapis.com) for the real google-genai SDK.

Speaks `POST /{version}/models/{model}:generateContent` (JSON) and
`POST /{version}/models/{model}:streamGenerateContent?alt=sse` (SSE, one GenerateContentResponse per
`data:` line, usageMetadata on every chunk, finishReason on the last), authenticated by the
`x-goog-api-key` header, errors as `{"error": {"code", "message", "status", "details"}}`.
Point the SDK at it with `types.HttpOptions(base_url=server.url)`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from tests.fakes.llm_server import Answer, Fail, FakeLLMServer, Hang, Malformed, RecordedRequest

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class FakeGeminiServer(FakeLLMServer):
    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/{version}/models/{target}", self._handle)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        model, _, method = request.match_info["target"].rpartition(":")
        if method not in ("generateContent", "streamGenerateContent"):
            return _error(404, f"Unknown method {method}")
        stream = method == "streamGenerateContent"
        body = await request.json()
        self.requests.append(_record(request, body, model, stream))
        if self.api_key is not None and request.headers.get("x-goog-api-key") != self.api_key:
            return _error(400, "API key not valid. Please pass a valid API key.", reason="API_KEY_INVALID")
        if stream and request.query.get("alt") != "sse":
            return _error(400, "this fake streams only with alt=sse")

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
        reported = behaviour.model or model
        if not stream:
            stop = behaviour.finish_reason or "STOP"
            return web.json_response(_chunk(behaviour.text, reported, behaviour, finish=stop, final=True))

        response = await self.start_sse(request)
        pieces = behaviour.pieces()
        for index, piece in enumerate(pieces):
            if behaviour.truncate_after is not None and index >= behaviour.truncate_after:
                if behaviour.drop_connection:
                    self.cut(request)
                    return response
                break
            if index and behaviour.chunk_delay:
                await asyncio.sleep(behaviour.chunk_delay)
            last = index == len(pieces) - 1 and behaviour.truncate_after is None
            finish = (behaviour.finish_reason or "STOP") if last else None
            await self.send_sse(response, _chunk(piece, reported, behaviour, finish=finish, final=last))
        await response.write_eof()
        return response


def _chunk(text: str, model: str, answer: Answer, *, finish: str | None, final: bool) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    reply: dict[str, Any] = {"candidates": [candidate], "modelVersion": model, "responseId": "fake-response"}
    if answer.report_usage:
        usage: dict[str, Any] = {"promptTokenCount": answer.input_tokens}
        if final:
            usage["candidatesTokenCount"] = answer.output_tokens
        usage["totalTokenCount"] = answer.input_tokens + (answer.output_tokens if final else 0)
        reply["usageMetadata"] = usage
    return reply


def _error(
    status: int, message: str, *, retry_after: float | None = None, reason: str | None = None
) -> web.Response:
    details: list[dict[str, Any]] = []
    if reason:
        details.append({"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason})
    if retry_after is not None:
        details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_after}s"})
    error: dict[str, Any] = {
        "code": status,
        "message": message,
        "status": _STATUS_NAMES.get(status, "UNKNOWN"),
    }
    if details:
        error["details"] = details
    return web.Response(status=status, text=json.dumps({"error": error}), content_type="application/json")


def _record(request: web.Request, body: Any, model: str, stream: bool) -> RecordedRequest:
    system = None
    instruction = body.get("systemInstruction")
    if isinstance(instruction, dict):
        system = "".join(part.get("text", "") for part in instruction.get("parts", []))
    messages = [
        (
            "assistant" if content.get("role") == "model" else "user",
            "".join(part.get("text", "") for part in content.get("parts", [])),
        )
        for content in body.get("contents", [])
    ]
    config = body.get("generationConfig", {})
    return RecordedRequest(
        path=request.path_qs,
        headers=dict(request.headers),
        body=body,
        model=model.removeprefix("models/"),
        stream=stream,
        system=system,
        messages=messages,
        max_tokens=config.get("maxOutputTokens"),
        temperature=config.get("temperature"),
    )
