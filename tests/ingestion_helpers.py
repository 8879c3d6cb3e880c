"""Helpers for ingestion tests: a fast deterministic embedder and a service on a temp data dir."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from qdrant_client import QdrantClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.repositories import users
from services.ingestion.service import IngestionConfig, IngestionService
from services.search.edge_folder import EdgeFolder
from services.search.index import SearchIndex

# The engines a test can build an index on: Qdrant Edge (the embedded default) and qdrant-client's
# local mode, the stand-in for a Qdrant server (the same client calls; no server runs here).
ENGINES = ("edge", "local-mode")


class CountingEmbedder:
    """Hash-of-words vectors (deterministic, instant) that count every text it embeds."""

    name = "test-hash-embedder"
    dim = 32

    def __init__(self) -> None:
        self.embedded = 0

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dim, dtype=np.float32)
        for word in text.lower().split():
            vector[int(hashlib.md5(word.encode()).hexdigest()[:6], 16) % self.dim] += 1.0
        norm = float(np.linalg.norm(vector)) or 1.0
        return vector / norm

    async def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded += len(texts)
        return (
            np.stack([self._vector(text) for text in texts]) if texts else np.zeros((0, self.dim), np.float32)
        )

    async def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)

    async def aclose(self) -> None:
        return None


def engine_client(engine: str, path: Path) -> QdrantClient | EdgeFolder:
    return EdgeFolder(path) if engine == "edge" else QdrantClient(path=str(path))


def make_index(path: Path, embedder: Any | None = None, *, engine: str = "edge") -> SearchIndex:
    client = engine_client(engine, path)
    return SearchIndex(client, embedder or CountingEmbedder(), "test_chunks", local=engine == "local-mode")


def make_service(
    session_factory: async_sessionmaker[AsyncSession], index: Any, files_dir: Path, **overrides: Any
) -> IngestionService:
    values: dict[str, Any] = {
        "files_dir": files_dir,
        "executor": "thread",
        "retry_delays": (0.05,),
        "progress_write_seconds": 0.0,
    }
    values.update(overrides)
    return IngestionService(session_factory, index, IngestionConfig(**values))


async def ensure_users(session_factory: async_sessionmaker[AsyncSession], *user_ids: int) -> None:
    async with session_factory() as session:
        for user_id in user_ids:
            await users.upsert_seen(
                session,
                user_id=user_id,
                username=None,
                first_name=f"U{user_id}",
                last_name=None,
                language="en",
            )
        await session.commit()
