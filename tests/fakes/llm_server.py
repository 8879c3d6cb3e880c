"""The scriptable core shared by the fake LLM servers (Gemini, OpenAI).

A fake server is a real aiohttp server on 127.0.0.1 (random port) that speaks one provider's wire format,
so tests run the real SDK against it. Each request takes the next behaviour from the script (or
`default` when the script is empty) and is recorded:

    server.script(Fail(429, retry_after=0.01), Answer("Hello"))
    ... call the provider ...
    assert server.requests[0].system == "You are a librarian."
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import web


@dataclass
class Answer:
    """A normal answer. Streamed, it is sent as `chunks` (default: the text split after each word)."""

    text: str = "This is a fake answer."
    chunks: Sequence[str] | None = None
    input_tokens: int = 12
    output_tokens: int = 8
    finish_reason: str | None = None  # the wire value; None: the provider's normal "stop"
    model: str | None = None  # the model reported back; None: the one requested
    report_usage: bool = True
    delay: float = 0.0  # before the reply starts
    chunk_delay: float = 0.0  # streaming: between chunks
    truncate_after: int | None = None  # streaming: stop after this many chunks, no finish or usage
    drop_connection: bool = False  # with truncate_after: cut the connection instead of ending cleanly

    def pieces(self) -> list[str]:
        if self.chunks is not None:
            return list(self.chunks)
        words = self.text.split(" ")
        return [w + " " for w in words[:-1]] + [words[-1]]


@dataclass
class Fail:
    """An HTTP error in the provider's error format; `retry_after` seconds is advertised the way
    the provider does it (Gemini: a RetryInfo detail, OpenAI: Retry-After headers)."""

    status: int = 500
    message: str = "The fake server failed on purpose."
    retry_after: float | None = None


@dataclass
class Hang:
    """No reply for `seconds` (the client's timeout fires first); ends early when the server closes."""

    seconds: float = 30.0


@dataclass
class Malformed:
    """A broken body: sent as is, or as one SSE data line when the request streams."""

    body: str = '{"candidates": [{"content": '
    status: int = 200
    content_type: str = "application/json"


Behaviour = Answer | Fail | Hang | Malformed


@dataclass
class RecordedRequest:
    """What a client sent, with the prompt normalised across wire formats."""

    path: str
    headers: dict[str, str]
    body: Any
    model: str
    stream: bool
    system: str | None = None
    messages: list[tuple[str, str]] = field(default_factory=list)  # (user|assistant|system, text)
    max_tokens: int | None = None
    temperature: float | None = None

    @property
    def last_user_text(self) -> str | None:
        users = [text for role, text in self.messages if role == "user"]
        return users[-1] if users else None


class FakeLLMServer:
    """Base of the fakes: lifecycle, the script, the request log. Subclasses speak the wire format."""

    def __init__(self, *, api_key: str | None = None) -> None:
        # When set, requests without this key get the provider's authentication error.
        self.api_key = api_key
        self.default: Behaviour = Answer()
        self.requests: list[RecordedRequest] = []
        self._script: deque[Behaviour] = deque()
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()
        self.port = 0
        # When set, every request waits at the gate until it opens; `waiting` counts those that arrived.
        self.gate: asyncio.Event | None = None
        self.waiting = 0

    def script(self, *behaviours: Behaviour) -> None:
        """Queue behaviours for the next requests, in order."""
        self._script.extend(behaviours)

    @property
    def pending(self) -> int:
        """Scripted behaviours not used yet."""
        return len(self._script)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        self.add_routes(app)
        # Handler cancellation lets a hanging reply stop when the client gives up.
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def close(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- for subclasses ---------------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def next_behaviour(self) -> Behaviour:
        return self._script.popleft() if self._script else self.default

    async def pass_gate(self) -> None:
        if self.gate is not None:
            self.waiting += 1
            await self.gate.wait()

    async def hang(self, behaviour: Hang) -> None:
        try:
            await asyncio.wait_for(self._closing.wait(), behaviour.seconds)
        except TimeoutError:
            pass

    @staticmethod
    def malformed_response(behaviour: Malformed, *, stream: bool) -> web.Response:
        if stream:
            return web.Response(
                status=behaviour.status,
                body=f"data: {behaviour.body}\r\n\r\n".encode(),
                content_type="text/event-stream",
            )
        return web.Response(
            status=behaviour.status, body=behaviour.body.encode(), content_type=behaviour.content_type
        )

    @staticmethod
    async def start_sse(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        return response

    @staticmethod
    async def send_sse(response: web.StreamResponse, data: Any) -> None:
        payload = data if isinstance(data, str) else json.dumps(data)
        await response.write(f"data: {payload}\r\n\r\n".encode())

    @staticmethod
    def cut(request: web.Request) -> None:
        if request.transport is not None:
            request.transport.close()
