"""Embedders: the local model, and the real openai / google-genai SDKs against a fake HTTP server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from bot.settings import SettingsError
from services.search.chunking import chunk_text
from services.search.edge_folder import EdgeFolder
from services.search.embeddings import (
    EmbeddingError,
    GeminiEmbedder,
    LocalEmbedder,
    OpenAIEmbedder,
    build_embedder,
    load_local_model,
)
from services.search.index import SearchIndex, collection_name
from tests.fakes.embeddings_server import GEMINI_KEY, OPENAI_KEY, FakeEmbeddingsServer


@pytest.fixture
async def server() -> AsyncIterator[FakeEmbeddingsServer]:
    async with FakeEmbeddingsServer() as fake:
        yield fake


def _unit(vectors: np.ndarray) -> bool:
    return bool(np.allclose(np.linalg.norm(vectors, axis=-1), 1.0, atol=1e-4))


async def test_local_model_is_loaded_once_and_vectors_are_normalised() -> None:
    assert load_local_model() is load_local_model()
    embedder = LocalEmbedder(batch_size=8)
    vectors = await embedder.embed_documents(["The cat sat on the mat.", "Кошка сидела на коврике."] * 5)
    assert vectors.shape == (10, 384) and vectors.dtype == np.float32 and _unit(vectors)
    query = await embedder.embed_query("Where did the cat sit?")
    assert query.shape == (384,) and float(vectors[0] @ query) > 0.5
    assert (await embedder.embed_documents([])).shape == (0, 384)


def test_questions_are_embedded_on_one_torch_thread_and_books_on_the_default() -> None:
    import threading

    import torch

    from services.search.embeddings import _document_threads, _query_threads

    counts: list[int] = []
    fresh = threading.Thread(target=lambda: counts.append(torch.get_num_threads()))
    assert _query_threads.submit(torch.get_num_threads).result() == 1
    fresh.start()
    fresh.join()
    assert _document_threads.submit(torch.get_num_threads).result() == counts[0] == torch.get_num_threads()


async def test_openai_embeddings_in_batches(make_settings, server: FakeEmbeddingsServer) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(
        embeddings_provider="openai", openai_api_key=OPENAI_KEY, embeddings_base_url=server.openai_base_url
    )
    embedder = build_embedder(settings)
    try:
        assert isinstance(embedder, OpenAIEmbedder) and embedder.dim == 1536
        texts = [f"passage number {i} about rivers" for i in range(600)]
        vectors = await embedder.embed_documents(texts)
        assert vectors.shape == (600, 1536) and _unit(vectors)
        assert sorted(len(call.texts) for call in server.calls) == [88, 256, 256]
        assert {call.model for call in server.calls} == {"text-embedding-3-small"}
        # Order is kept across concurrent batches.
        again = await embedder.embed_documents([texts[599], texts[0]])
        assert np.allclose(again, vectors[[599, 0]], atol=1e-6)
        query = await embedder.embed_query("rivers")
        assert query.shape == (1536,)
    finally:
        await embedder.aclose()


async def test_openai_dimensions_and_errors(server: FakeEmbeddingsServer) -> None:
    embedder = OpenAIEmbedder(
        api_key=OPENAI_KEY, base_url=server.openai_base_url, dimensions=256, max_retries=0
    )
    try:
        assert embedder.dim == 256 and embedder.name == "text-embedding-3-small-256"
        assert (await embedder.embed_documents(["a b c"])).shape == (1, 256)
        assert server.calls[-1].body["dimensions"] == 256
        server.fail_next.append(500)
        with pytest.raises(EmbeddingError):
            await embedder.embed_documents(["x"])
    finally:
        await embedder.aclose()
    wrong_key = OpenAIEmbedder(api_key="sk-wrong", base_url=server.openai_base_url, max_retries=0)
    with pytest.raises(EmbeddingError):
        await wrong_key.embed_query("x")
    await wrong_key.aclose()
    with pytest.raises(EmbeddingError):
        OpenAIEmbedder(api_key="k", model="some-unknown-model")


async def test_gemini_embeddings(make_settings, server: FakeEmbeddingsServer) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(
        embeddings_provider="gemini", gemini_api_key=GEMINI_KEY, gemini_base_url=server.url
    )
    embedder = build_embedder(settings)
    try:
        assert isinstance(embedder, GeminiEmbedder) and embedder.dim == 768
        vectors = await embedder.embed_documents([f"text {i}" for i in range(150)])
        assert vectors.shape == (150, 768) and _unit(vectors)
        assert sorted(len(call.texts) for call in server.calls) == [50, 100]
        request = server.calls[0].body["requests"][0]
        assert request["taskType"] == "RETRIEVAL_DOCUMENT" and request["outputDimensionality"] == 768
        assert server.calls[0].model.endswith("gemini-embedding-001")
        query = await embedder.embed_query("text")
        assert query.shape == (768,) and server.calls[-1].body["requests"][0]["taskType"] == "RETRIEVAL_QUERY"
        server.fail_next.append(429)
        with pytest.raises(EmbeddingError):
            await embedder.embed_query("x")
    finally:
        await embedder.aclose()


async def test_search_with_openai_embeddings(tmp_path: Path, server: FakeEmbeddingsServer) -> None:
    embedder = OpenAIEmbedder(api_key=OPENAI_KEY, base_url=server.openai_base_url, dimensions=512)
    name = collection_name("chunks", embedder)
    assert name == "chunks_text-embedding-3-small-512"
    index = SearchIndex(EdgeFolder(tmp_path / "q"), embedder, name)
    try:
        text = "The owl lived in the oak. " * 5 + "\n\n" + "The trout swam in the cold stream. " * 5
        await index.index_chunks(1, 1, "en", chunk_text(text, options=_small()))
        hits = await index.search(1, "trout stream", k=1, mode="dense")
        assert "trout" in hits[0].text
    finally:
        await index.close()


def test_unknown_provider_stops_start_up(make_settings) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SettingsError, match="EMBEDDINGS_PROVIDER"):
        make_settings(embeddings_provider="cohere")


def _small():  # type: ignore[no-untyped-def]
    from services.search.chunking import ChunkingOptions

    return ChunkingOptions(target_chars=150, min_chars=10)
