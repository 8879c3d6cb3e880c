"""The retrieval benchmark's stand-in for an LLM translator: a local OpenAI-compatible server.

There is no real LLM on the benchmark machine. xquad's questions are parallel by id (the same question
in English and in Russian), so this server answers a translation request with the question's parallel
in the other language: a stand-in for a good translator, not a measurement of any model. The real
openai SDK, `OpenAICompatProvider` and `LLMRouter` talk to it over HTTP on 127.0.0.1, so the rows "with
an LLM translator" run the bot's own path (`QueryTranslator`, `CrossLanguageSearch`) end to end.

`noise`: the share of the translation's words (every n-th, deterministically) replaced by the original
question's words, a cruder stand-in for a weaker translator.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from services.llm import LLMRouter
from services.llm.openai_compat import OpenAICompatProvider
from services.search.translate import QueryTranslator


class ParallelTranslations:
    """`POST /v1/chat/completions`: the last user message looked up in `pairs` (unknown: echoed back)."""

    def __init__(self, pairs: Mapping[str, str], noise: float = 0.0) -> None:
        self.pairs = {" ".join(k.split()): v for k, v in pairs.items()}
        self.noise = noise
        self.requests = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def translation(self, question: str) -> str:
        found = self.pairs.get(" ".join(question.split()))
        if found is None:
            return question
        if self.noise <= 0:
            return found
        words, originals = found.split(), question.split()
        every = max(1, round(1 / self.noise))
        return " ".join(
            originals[i % len(originals)] if (i + 1) % every == 0 else word for i, word in enumerate(words)
        )

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        body: dict[str, Any] = await request.json()
        users = [m for m in body.get("messages", []) if m.get("role") == "user"]
        text = self.translation(str(users[-1].get("content") or "")) if users else ""
        reply = {
            "id": "chatcmpl-stand-in",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(body.get("model")),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 60, "completion_tokens": 20, "total_tokens": 80},
        }
        return web.json_response(reply)


class StandIn:
    """A `QueryTranslator` whose router's only provider is a local `ParallelTranslations` server."""

    def __init__(self, server: ParallelTranslations, router: LLMRouter) -> None:
        self.server = server
        self.router = router
        # Two shared cores: a generous timeout, so that no figure depends on the machine's load.
        self.translator = QueryTranslator(router, timeout=30.0)

    @classmethod
    async def start(cls, pairs: Mapping[str, str], noise: float = 0.0) -> StandIn:
        server = ParallelTranslations(pairs, noise)
        await server.start()
        provider = OpenAICompatProvider(api_key=None, base_url=server.base_url, model="parallel-stand-in")
        return cls(server, LLMRouter([provider], retries=0, timeout=30.0))

    async def close(self) -> None:
        try:
            await self.router.aclose()
        finally:
            await self.server.close()
