"""A fake embeddings API for the real openai and google-genai SDKs, on 127.0.0.1.

Speaks OpenAI's `POST /v1/embeddings` (float or base64 encoding, `dimensions`) and Gemini's
`POST /{version}/models/{model}:batchEmbedContents`. Vectors are deterministic bags of hashed words,
so texts that share words are close and a search over them behaves like a (crude) real model.
`fail_next` makes the next requests answer with an HTTP error in the provider's format.
"""

from __future__ import annotations

import asyncio
import base64
import re
import zlib
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
from aiohttp import web

OPENAI_KEY = "sk-embeddings-test"
GEMINI_KEY = "gemini-embeddings-test"


def bag_vector(text: str, dim: int) -> list[float]:
    vector = np.zeros(dim, dtype=np.float32)
    for word in re.findall(r"\w+", text.lower()):
        vector[zlib.crc32(word.encode()) % dim] += 1.0
    norm = float(np.linalg.norm(vector)) or 1.0
    return (vector / norm * 3.0).tolist()  # not unit length: clients must normalise


@dataclass
class EmbeddingsCall:
    provider: str
    model: str
    texts: list[str]
    body: dict[str, Any]


@dataclass
class FakeEmbeddingsServer:
    openai_dim: int = 1536
    gemini_dim: int = 3072
    calls: list[EmbeddingsCall] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)  # HTTP statuses for the next requests
    delay_seconds: float = 0.0  # each request answers this much later (a slow provider)
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_post("/v1/embeddings", self._openai)
        app.router.add_post("/{version}/models/{target}", self._gemini)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _openai(self, request: web.Request) -> web.Response:
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        if request.headers.get("Authorization") != f"Bearer {OPENAI_KEY}":
            return _openai_error(401, "Incorrect API key provided.")
        if self.fail_next:
            return _openai_error(self.fail_next.pop(0), "The fake server failed on purpose.")
        body = await request.json()
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        self.calls.append(EmbeddingsCall("openai", body["model"], texts, body))
        dim = body.get("dimensions") or self.openai_dim
        data = []
        for index, text in enumerate(texts):
            vector: Any = bag_vector(text, dim)
            if body.get("encoding_format") == "base64":
                vector = base64.b64encode(np.asarray(vector, dtype=np.float32).tobytes()).decode()
            data.append({"object": "embedding", "index": index, "embedding": vector})
        tokens = sum(len(t.split()) for t in texts)
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    async def _gemini(self, request: web.Request) -> web.Response:
        model, _, method = request.match_info["target"].rpartition(":")
        if method != "batchEmbedContents":
            return _gemini_error(404, f"Unknown method {method}")
        if request.headers.get("x-goog-api-key") != GEMINI_KEY:
            return _gemini_error(400, "API key not valid. Please pass a valid API key.")
        if self.fail_next:
            return _gemini_error(self.fail_next.pop(0), "The fake server failed on purpose.")
        body = await request.json()
        requests = body.get("requests", [])
        texts = ["".join(part.get("text", "") for part in r["content"]["parts"]) for r in requests]
        self.calls.append(EmbeddingsCall("gemini", model, texts, body))
        embeddings = []
        for item, text in zip(requests, texts, strict=True):
            config = item.get("embedContentConfig") or item
            dim = config.get("outputDimensionality") or self.gemini_dim
            embeddings.append({"values": bag_vector(text, dim)})
        return web.json_response({"embeddings": embeddings})


def _openai_error(status: int, message: str) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}},
        status=status,
    )


def _gemini_error(status: int, message: str) -> web.Response:
    names = {400: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 404: "NOT_FOUND"}
    return web.json_response(
        {"error": {"code": status, "message": message, "status": names.get(status, "UNKNOWN")}}, status=status
    )
