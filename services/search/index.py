"""The search index: one Qdrant collection of chunks with dense and lexical vectors, per-user filtered.

A chunk's dense side is a multivector: one vector per window of whole sentences (~250 characters),
compared with MaxSim, so the one sentence that answers a question is not diluted by the rest of its
passage (dense MRR@10 0.51 -> 0.62 on the fairytale benchmark at the same embedding cost: the windows
hold the same tokens). Hybrid search fuses the dense and lexical rankings by weighted, min-max
normalised scores and then rewards passages where the question's rarer words meet within one window,
and (a little) chunks of the chapter that holds most of the best hits. Neighbouring chunks among the hits
are joined into one passage (exactly the book's text, up to `merge_chars`; a joined passage ranks by its
best part plus a share of the others). The best passage takes whole sentences from the chunks around it
(one Qdrant look-up by point id). Given the caller's context budget, the others come next as they are,
as many as fit, then the best sentences of the next one in the room left, and any room still left
widens them too (`pack`): a fixed context holds more places. The fairytale benchmark's R@5 0.908 ->
0.935 and MRR@10 0.803 -> 0.822 at equal context (docs/BENCHMARKS.md).

Every query carries the user filter inside each prefetch, so no ranking stage ever sees another user's
points. The engine is Qdrant Edge in-process (the embedded default, services/search/edge.py, shared
with the bot's other processes by edge_folder.py) or a Qdrant server through qdrant-client (QDRANT_URL);
both take the same qdrant-client calls, run in a few threads, a server's upserts unawaited (wait=False).
qdrant-client's local mode (synchronous, single-writer: one thread) still works, as a test stand-in
for the server.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

import numpy as np
from qdrant_client import QdrantClient, models

from services.search import lexical
from services.search.chunking import Chunk
from services.search.edge_folder import EdgeFolder
from services.search.embeddings import Embedder, build_embedder
from services.search.sentences import text_sentence_spans, window_spans

if TYPE_CHECKING:
    from services.config import ServiceSettings

logger = logging.getLogger(__name__)

Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "lexical")
Progress = Callable[[int, int], Awaitable[None]]
T = TypeVar("T")
C = TypeVar("C", bound="Passage")

DENSE = "dense"
LEXICAL = "lexical"
INDEXED_FIELDS = ["user_id", "book_id"]  # payload indexes: every query filters by them
_POINT_NAMESPACE = uuid.UUID("6f1c52a4-3b0e-4d8a-9a55-1b7f0d6c2e11")


class Passage(Protocol):
    @property
    def seq(self) -> int: ...

    @property
    def text(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Hit:
    book_id: int
    seq: int
    text: str
    page: int | None
    chapter: str | None
    percent: float
    score: float
    char_start: int | None = None
    char_end: int | None = None
    lang: str | None = None
    seq_end: int | None = None  # a hit joined from neighbouring chunks: seq..seq_end (None: just seq)
    gap_before: str = " "  # the book text between the previous chunk and this one


@dataclass(frozen=True, slots=True)
class SearchTuning:
    """Query-side knobs (defaults chosen by `librarity bench retrieval`, see docs/BENCHMARKS.md)."""

    prefetch: int = 40  # candidates each retriever hands to the fusion
    # "weighted": both retrievers in one batch request, min-max normalised scores mixed with the
    # weights below (MiniLM is weak on Russian, so Russian questions lean on the lexical side);
    # "rrf" / "dbsf": Qdrant's own prefetch + fusion, unweighted.
    fusion: Literal["weighted", "rrf", "dbsf"] = "weighted"
    dense_weight: float = 0.4
    dense_weight_ru: float = 0.4
    proximity: float = 0.4  # weight of "the question's words together in one window" in the re-rank
    rerank_depth: int = 30  # fused candidates the proximity re-rank looks at
    window_chars: int = 250  # the dense side's windows (and the proximity re-rank's)
    merge_chars: int = 1200  # hybrid hits of adjacent chunks join up to this size (0: never)
    context_chars: int = 1000  # a shorter hybrid passage takes neighbouring sentences up to this (0: no)
    first_context_chars: int = 1600  # the same for the best passage, which gets more (0: context_chars)
    story: float = 0.4  # weight of "other strong hits in the same chapter" in the re-rank
    story_depth: int = 10  # how many of the best hits vote for their chapter
    joined_bonus: float = 0.2  # a joined passage scores max + this x the sum of its other parts
    # Query expansion from the book's own words (pseudo-relevance feedback on the lexical side): the
    # stems the best `expansion_docs` fused passages share, `expansion_terms` of them, added to a second
    # lexical query at this weight (0: off), then fused again. See lexical.expansion_terms.
    expansion: float = 0.0
    expansion_docs: int = 5
    expansion_terms: int = 10
    upsert_batch: int = 256  # chunks embedded and written per step


def point_id(user_id: int, book_id: int, seq: int) -> str:
    return str(uuid.uuid5(_POINT_NAMESPACE, f"{user_id}:{book_id}:{seq}"))


def collection_name(base: str, embedder: Embedder) -> str:
    """One collection per embedding model, so switching models never mixes vector spaces."""
    slug = re.sub(r"[^a-z0-9]+", "-", embedder.name.lower()).strip("-")
    return f"{base}_{slug}"


# The milliseconds each search takes, collected where `timed_searches` is open (`librarity ask`).
_search_times: ContextVar[list[float] | None] = ContextVar("search_times", default=None)


@contextmanager
def timed_searches() -> Iterator[list[float]]:
    """Collect the milliseconds of every `SearchIndex.search` made inside the block (this task's)."""
    times: list[float] = []
    token = _search_times.set(times)
    try:
        yield times
    finally:
        _search_times.reset(token)


class SearchIndex:
    def __init__(
        self,
        client: QdrantClient | EdgeFolder,
        embedder: Embedder,
        collection: str,
        *,
        local: bool = False,
        tuning: SearchTuning | None = None,
    ) -> None:
        """`client`: Qdrant Edge (`EdgeFolder`) or a qdrant-client; `local`: that client is in local mode."""
        self.client = client
        self.embedder = embedder
        self.collection = collection
        self.local = local
        self.tuning = tuning or SearchTuning()
        self._threads = ThreadPoolExecutor(max_workers=1 if local else 4, thread_name_prefix="qdrant")
        self._ready = False
        self._ready_lock = asyncio.Lock()

    # --- plumbing ---------------------------------------------------------------------------------------

    async def _call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run an engine call in the index's threads. A cancelled caller still waits for the call to
        end (a thread cannot be stopped): a write of a cancelled indexing then never lands after a
        delete that follows it, whichever thread each runs in."""
        loop = asyncio.get_running_loop()
        call = loop.run_in_executor(self._threads, lambda: function(*args, **kwargs))
        try:
            return await asyncio.shield(call)
        except asyncio.CancelledError:
            await asyncio.wait([call])
            raise

    async def ensure_collection(self) -> None:
        if self._ready:
            return
        async with self._ready_lock:
            if not self._ready:
                await self._call(self._create_collection)
                self._ready = True

    def _create_collection(self) -> None:
        max_sim = models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM)
        vectors = {
            DENSE: models.VectorParams(
                size=self.embedder.dim, distance=models.Distance.COSINE, multivector_config=max_sim
            )
        }
        sparse = {LEXICAL: models.SparseVectorParams(modifier=models.Modifier.IDF)}
        if isinstance(self.client, EdgeFolder):  # made, checked or copied from local mode there
            self.client.open_collection(self.collection, vectors, sparse, INDEXED_FIELDS)
            return
        if self.client.collection_exists(self.collection):
            self._check_schema()
            return
        self.client.create_collection(self.collection, vectors_config=vectors, sparse_vectors_config=sparse)
        if not self.local:  # local mode has no payload indexes (and warns about them)
            for field in INDEXED_FIELDS:
                self.client.create_payload_index(self.collection, field, models.PayloadSchemaType.INTEGER)

    def _check_schema(self) -> None:
        assert isinstance(self.client, QdrantClient)
        info = self.client.get_collection(self.collection)
        vectors = info.config.params.vectors
        dense = vectors.get(DENSE) if isinstance(vectors, dict) else None
        if dense is None or dense.multivector_config is None or dense.size != self.embedder.dim:
            raise RuntimeError(
                f"Qdrant collection {self.collection!r} was made by an older Librarity or another model; "
                "set QDRANT_COLLECTION to a new name (and re-ingest the books) or delete it"
            )

    # --- writing ----------------------------------------------------------------------------------------

    async def index_chunks(
        self,
        user_id: int,
        book_id: int,
        language: str | None,
        chunks: Sequence[Chunk],
        progress: Progress | None = None,
        *,
        dense: bool = True,
    ) -> int:
        """Embed and store a book's chunks; the next batch is embedded while the last one is written.

        With `dense=False` only the lexical vectors are written (no model, a second or two for a book):
        the book is searchable at once, lexically, and `add_dense` later adds the dense side.
        """
        await self.ensure_collection()

        async def build(batch: Sequence[Chunk]) -> list[models.PointStruct]:
            texts = [chunk.text for chunk in batch]
            if not dense:
                sparse = await asyncio.to_thread(lexical.document_vectors, texts)
                return [
                    _point(user_id, book_id, language, c, None, t) for c, t in zip(batch, sparse, strict=True)
                ]
            vectors, sparse = await asyncio.gather(
                self._embed_windows(texts), asyncio.to_thread(lexical.document_vectors, texts)
            )
            return [
                _point(user_id, book_id, language, c, v, t)
                for c, v, t in zip(batch, vectors, sparse, strict=True)
            ]

        return await self._pipeline(chunks, build, self._upsert, progress)

    async def add_dense(
        self, user_id: int, book_id: int, chunks: Sequence[Passage], progress: Progress | None = None
    ) -> int:
        """Add the dense vectors to a book indexed with `dense=False` (its payloads stay as they are).

        `chunks`: the book's chunks as indexed, or their stored rows (anything with `seq` and `text`)."""
        await self.ensure_collection()

        async def build(batch: Sequence[Passage]) -> list[models.PointVectors]:
            vectors = await self._embed_windows([chunk.text for chunk in batch])
            return [
                models.PointVectors(id=point_id(user_id, book_id, chunk.seq), vector={DENSE: v.tolist()})
                for chunk, v in zip(batch, vectors, strict=True)
            ]

        async def write(points: list[models.PointVectors]) -> None:
            await self._call(self.client.update_vectors, self.collection, points=points, wait=self.local)

        return await self._pipeline(chunks, build, write, progress)

    async def _pipeline(
        self,
        chunks: Sequence[C],
        build: Callable[[Sequence[C]], Awaitable[list[Any]]],
        write: Callable[[list[Any]], Awaitable[None]],
        progress: Progress | None,
    ) -> int:
        """Build each batch's points while the previous batch is being written."""
        total, done = len(chunks), 0
        writing: asyncio.Future[Any] | None = None
        try:
            for start in range(0, total, self.tuning.upsert_batch):
                batch = chunks[start : start + self.tuning.upsert_batch]
                points = await build(batch)
                if writing is not None:
                    await writing
                writing = asyncio.ensure_future(write(points))
                done += len(batch)
                if progress is not None:
                    await progress(done, total)
            if writing is not None:
                await writing
                writing = None
        finally:
            if writing is not None:  # cancelled: the write in progress ends first (see _call)
                await asyncio.wait([writing])
        return total

    async def _embed_windows(self, texts: Sequence[str]) -> list[np.ndarray]:
        """One (windows x dim) matrix per text, all windows embedded in one call."""
        windows = [self._windows(text) for text in texts]
        vectors = await self.embedder.embed_documents([window for group in windows for window in group])
        bounds = np.cumsum([0, *(len(group) for group in windows)])
        return [vectors[bounds[i] : bounds[i + 1]] for i in range(len(texts))]

    def _windows(self, text: str) -> list[str]:
        return [text[a:b] for a, b in window_spans(text, self.tuning.window_chars)] or [text]

    async def _upsert(self, points: list[models.PointStruct]) -> None:
        await self._call(self.client.upsert, self.collection, points=points, wait=self.local)

    async def delete_book(self, user_id: int, book_id: int) -> None:
        await self.ensure_collection()
        selector = models.FilterSelector(filter=_filter(user_id, [book_id]))
        await self._call(self.client.delete, self.collection, points_selector=selector, wait=True)

    async def copy_book(self, src_user: int, src_book: int, dst_user: int, dst_book: int) -> int:
        """Copy a book's points to another user/book with their vectors (no re-embedding)."""
        await self.ensure_collection()
        copied, offset = 0, None
        while True:
            records, offset = await self._call(
                self.client.scroll,
                self.collection,
                scroll_filter=_filter(src_user, [src_book]),
                limit=self.tuning.upsert_batch,
                offset=offset,
                with_payload=True,
                with_vectors=True,
            )
            points = []
            for record in records:
                payload = dict(record.payload or {})
                payload.update(user_id=dst_user, book_id=dst_book)
                vector: Any = record.vector
                points.append(
                    models.PointStruct(
                        id=point_id(dst_user, dst_book, payload["seq"]), vector=vector, payload=payload
                    )
                )
            if points:
                await self._call(self.client.upsert, self.collection, points=points, wait=True)
                copied += len(points)
            if offset is None:
                return copied

    async def count(self, user_id: int, book_id: int | None = None) -> int:
        await self.ensure_collection()
        book_ids = None if book_id is None else [book_id]
        result = await self._call(
            self.client.count, self.collection, count_filter=_filter(user_id, book_ids), exact=True
        )
        return result.count

    # --- reading ----------------------------------------------------------------------------------------

    async def search(
        self,
        user_id: int,
        query: str,
        *,
        book_ids: Sequence[int] | None = None,
        k: int = 10,
        mode: Mode = "hybrid",
        budget: int | None = None,
        limits: Mapping[int, float] | None = None,
    ) -> list[Hit]:
        """The k best passages of the user's books (of `book_ids` when given) for the query, best first.

        `budget`: the characters of passages the caller will use, best first (a model's context); the
        hybrid search then packs them into it (see `pack`). `limits`: book id -> how far the reader has
        read (percent); only passages before that point are searched or added around a passage."""
        started = time.perf_counter()
        try:
            return await self._search(
                user_id, query, book_ids=book_ids, k=k, mode=mode, budget=budget, limits=limits or {}
            )
        finally:
            times = _search_times.get()
            if times is not None:
                times.append((time.perf_counter() - started) * 1000)

    async def _search(
        self,
        user_id: int,
        query: str,
        *,
        book_ids: Sequence[int] | None,
        k: int,
        mode: Mode,
        budget: int | None,
        limits: Mapping[int, float],
    ) -> list[Hit]:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        if not query.strip() or k <= 0 or (book_ids is not None and not book_ids):
            return []
        await self.ensure_collection()
        where = _filter(user_id, book_ids, limits)
        terms = lexical.query_vector(query)
        sparse = models.SparseVector(indices=terms.indices, values=terms.values) if terms.indices else None
        if mode == "lexical" and sparse is None:
            return []
        dense: np.ndarray | None = None
        if mode != "lexical":
            dense = await self.embedder.embed_query(query)

        if mode == "dense" or (mode == "hybrid" and sparse is None):
            assert dense is not None
            request: dict[str, Any] = {"query": [dense.tolist()], "using": DENSE, "query_filter": where}
        elif mode == "lexical":
            request = {"query": sparse, "using": LEXICAL, "query_filter": where}
        elif self.tuning.fusion == "weighted":
            assert dense is not None and sparse is not None
            passages = await self._weighted_hybrid(query, dense, sparse, where, k)
            return await self._widen(user_id, query, passages, budget, limits)
        else:
            assert dense is not None and sparse is not None
            depth = max(self.tuning.prefetch, k)
            fusion = models.Fusion.RRF if self.tuning.fusion == "rrf" else models.Fusion.DBSF
            request = {
                "prefetch": [
                    models.Prefetch(query=[dense.tolist()], using=DENSE, filter=where, limit=depth),
                    models.Prefetch(query=sparse, using=LEXICAL, filter=where, limit=depth),
                ],
                "query": models.FusionQuery(fusion=fusion),
            }
        result = await self._call(
            self.client.query_points, self.collection, limit=k, with_payload=True, **request
        )
        return [_hit(point) for point in result.points]

    async def _weighted_hybrid(
        self, query: str, dense: np.ndarray, sparse: models.SparseVector, where: models.Filter, k: int
    ) -> list[Hit]:
        depth = max(self.tuning.prefetch, 3 * k)  # joining neighbours leaves fewer passages than hits
        requests = [
            models.QueryRequest(
                query=[dense.tolist()], using=DENSE, filter=where, limit=depth, with_payload=True
            ),
            models.QueryRequest(query=sparse, using=LEXICAL, filter=where, limit=depth, with_payload=True),
        ]
        by_dense, by_terms = await self._call(self.client.query_batch_points, self.collection, requests)
        weight = (
            self.tuning.dense_weight_ru
            if lexical.detect_language(query) == "ru"
            else self.tuning.dense_weight
        )
        fused = fuse([by_dense.points, by_terms.points], [weight, 1.0 - weight])
        if self.tuning.expansion > 0 and fused:
            expanded = await self._expanded_terms(query, fused, where, depth)
            if expanded is not None:
                fused = fuse([by_dense.points, expanded], [weight, 1.0 - weight])
        ranked = self._rerank(query, fused)
        joined = join_neighbours(ranked, self.tuning.merge_chars)
        if self.tuning.joined_bonus > 0:
            joined = sorted(joined, key=lambda hit: -_joined_score(hit, ranked, self.tuning.joined_bonus))
        return joined[:k]

    async def _expanded_terms(
        self, query: str, fused: list[Hit], where: models.Filter, depth: int
    ) -> list[models.ScoredPoint] | None:
        """The lexical ranking again, the query expanded with the best fused passages' shared stems
        (None when they share none worth adding)."""
        tuning = self.tuning
        feedback = fused[: tuning.expansion_docs]
        terms = lexical.expansion_terms(
            query,
            [hit.text for hit in feedback],
            [hit.score for hit in feedback],
            [hit.text for hit in fused],
            tuning.expansion_terms,
        )
        if not terms:
            return None
        vector = lexical.expanded_query_vector(query, terms, tuning.expansion)
        result = await self._call(
            self.client.query_points,
            self.collection,
            query=models.SparseVector(indices=vector.indices, values=vector.values),
            using=LEXICAL,
            query_filter=where,
            limit=depth,
            with_payload=True,
        )
        return result.points

    async def _widen(
        self, user_id: int, query: str, passages: list[Hit], budget: int | None, limits: Mapping[int, float]
    ) -> list[Hit]:
        """Give each passage shorter than `context_chars` the sentences around it, from the chunks before
        and after it (same chapter and page, not another passage), so that a context holds a few places
        each with its surroundings rather than bare ~600-character chunks; with a budget, see `pack`."""
        target = self.tuning.context_chars
        if target <= 0 or not passages:
            return passages
        first = self.tuning.first_context_chars or target
        neighbours = {
            (p.book_id, seq)
            for p in passages
            if len(p.text) < max(target, first)
            for seq in (p.seq - 1, (p.seq_end or p.seq) + 1)
            if seq >= 0
        }
        ids = [point_id(user_id, book, seq) for book, seq in sorted(neighbours)]
        records = await self._call(self.client.retrieve, self.collection, ids=ids, with_payload=True)
        around: dict[tuple[int, int], Hit] = {}
        for record in records:
            payload = record.payload or {}
            if payload.get("user_id") == user_id and payload.get("char_start") is not None:
                hit = _hit(models.ScoredPoint(id=record.id, version=0, score=0.0, payload=payload))
                if hit.book_id in limits and hit.percent >= limits[hit.book_id]:
                    continue  # past where the reader has got to
                around[(hit.book_id, hit.seq)] = hit
        return pack(passages, around, budget, first, target, frozenset(lexical.stems(query)))

    def _rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        """Reward the passages where the question's (rarer) words meet within one window."""
        tuning = self.tuning
        if tuning.proximity <= 0 or len(hits) < 2:
            return hits
        head, tail = hits[: tuning.rerank_depth], hits[tuning.rerank_depth :]
        closeness = lexical.proximity_scores(query, [hit.text for hit in head], tuning.window_chars)
        rescored = [
            replace(hit, score=round(hit.score + tuning.proximity * near, 6))
            for hit, near in zip(head, closeness, strict=True)
        ]
        if tuning.story > 0:
            rescored = _story_bonus(rescored, tuning.story, tuning.story_depth)
        rescored.sort(key=lambda hit: -hit.score)
        return rescored + tail

    async def close(self) -> None:
        try:
            await self._call(self.client.close)
        finally:
            self._threads.shutdown(wait=False)
            await self.embedder.aclose()


def fuse(rankings: Sequence[Sequence[models.ScoredPoint]], weights: Sequence[float]) -> list[Hit]:
    """Mix rankings by min-max normalised score: a point missing from a ranking gets 0 there."""
    scores: dict[Any, float] = {}
    points: dict[Any, models.ScoredPoint] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        if not ranking:
            continue
        values = [point.score for point in ranking]
        low, high = min(values), max(values)
        for point in ranking:
            share = (point.score - low) / (high - low) if high > low else 1.0
            scores[point.id] = scores.get(point.id, 0.0) + weight * share
            points.setdefault(point.id, point)
    ranked = sorted(scores, key=lambda key: -scores[key])
    return [replace(_hit(points[key]), score=round(scores[key], 6)) for key in ranked]


def pack(
    passages: Sequence[Hit],
    around: dict[tuple[int, int], Hit],
    budget: int | None,
    first: int,
    target: int,
    wanted: frozenset[str] = frozenset(),
) -> list[Hit]:
    """The passages, best first, each less the text a better one already holds, widened with the sentences
    around them (`around`: neighbouring chunks by (book_id, seq)): the best to `first` characters, the
    others to `target`.

    With a budget (the characters of context the caller will use) the places come first: the best
    passage widened, then as many others as fit as they are, then, from the first one that does not
    fit, its run of whole sentences holding the most of the question's stems (`wanted`) that fits the
    room left; whatever room is still left widens the others, best first. A fixed context then holds
    more places rather than wider surroundings of fewer. The passages past the budget follow as they are."""
    places: list[tuple[Hit, bool]] = []  # (passage, still whole: its edges are its chunks' edges)
    taken: set[tuple[int, int]] = set()  # (book_id, seq) of the chunks in a place
    used, rest_at = 0, len(passages)
    for at, passage in enumerate(passages):
        rest = _outside(passage, [p for p, _ in places])
        if rest is None:
            continue
        whole = rest is passage
        if not places:  # the best passage gets its surroundings before the others are chosen
            rest, whole = widen(rest, around, first), False
        elif budget is not None and used + len(rest.text) > budget:
            piece = trim(rest, budget - used, wanted)
            rest_at = at if piece is None else at + 1
            if piece is not None:
                places.append((piece, False))
                used += len(piece.text)
                taken |= _chunks(piece)
            break
        places.append((rest, whole))
        used += len(rest.text)
        taken |= _chunks(rest)
    room = None if budget is None else budget - used
    free = {key: hit for key, hit in around.items() if key not in taken}
    out: list[Hit] = []
    for passage, whole in places:
        if whole:
            goal = target if room is None else min(target, len(passage.text) + room)
            wide = widen(passage, free, goal)
            if room is not None:
                room -= len(wide.text) - len(passage.text)
            for key in _chunks(wide):
                free.pop(key, None)
            passage = wide
        out.append(passage)
    for passage in passages[rest_at:]:
        rest = _outside(passage, out)
        if rest is not None:
            out.append(rest)
    return out


def trim(passage: Hit, room: int, wanted: frozenset[str], min_chars: int = 200) -> Hit | None:
    """The run of whole sentences of passage, within room characters, that holds the most of the
    question's stems (None when room is under min_chars or no such run holds any)."""
    if room < min_chars or not wanted or passage.char_start is None:
        return None
    spans = list(text_sentence_spans(passage.text))
    found = [frozenset(lexical.stems(passage.text[a:b])) & wanted for a, b in spans]
    best: tuple[int, int] | None = None
    best_count = 0
    for i, (start, _) in enumerate(spans):
        held: set[str] = set()
        end = None
        for j in range(i, len(spans)):
            if spans[j][1] - start > room:
                break
            end = spans[j][1]
            held |= found[j]
        if end is not None and len(held) > best_count:
            best, best_count = (start, end), len(held)
    if best is None:
        return None
    return _cut(passage, *best)


def _cut(passage: Hit, start: int, end: int) -> Hit:
    """The passage cut to passage.text[start:end] (char_start must be known), its gap before it kept
    right: the whitespace before start, or the passage's own gap when start is 0."""
    assert passage.char_start is not None
    at = passage.char_start + start
    gap_before = _trailing_space(passage.text[:start]) if start else passage.gap_before
    return replace(
        passage, text=passage.text[start:end], char_start=at, char_end=at + end - start, gap_before=gap_before
    )


def _trailing_space(text: str) -> str:
    return text[len(text.rstrip()) :]


def _chunks(passage: Hit) -> set[tuple[int, int]]:
    return {(passage.book_id, seq) for seq in range(passage.seq, (passage.seq_end or passage.seq) + 1)}


def widen(passage: Hit, around: dict[tuple[int, int], Hit], target: int) -> Hit:
    """The passage with whole sentences of its neighbouring chunks (`around`, by (book_id, seq)) added on
    both sides, up to `target` characters in all: still exactly the book's text at char_start..char_end."""
    extra = target - len(passage.text)
    if extra <= 0 or passage.char_start is None or passage.char_end is None:
        return passage
    last = passage.seq_end or passage.seq
    before, after = around.get((passage.book_id, passage.seq - 1)), around.get((passage.book_id, last + 1))
    before = before if _same_place(before, passage) else None
    after = after if _same_place(after, passage) else None
    if before is None and after is None:
        return passage
    # Half each side; what one side cannot use goes to the other.
    head_room = extra // 2 if after is not None else extra
    head_at = _tail_start(before, head_room, passage.gap_before) if before is not None else None
    head = "" if before is None or head_at is None else before.text[head_at:] + passage.gap_before
    tail = _head_sentences(after, extra - len(head)) if after is not None else ""
    if before is not None and head_at is None and len(head) + len(tail) < extra:
        head_at = _tail_start(before, extra - len(tail), passage.gap_before)
        head = "" if head_at is None else before.text[head_at:] + passage.gap_before
    if not head and not tail:
        return passage
    gap_before = passage.gap_before
    if before is not None and head_at is not None:
        gap_before = _trailing_space(before.text[:head_at]) if head_at else before.gap_before
    start = passage.char_start - len(head)
    text = head + passage.text + tail
    first = before if head and before is not None else passage
    return replace(
        passage,
        text=text,
        seq=first.seq,
        page=first.page,
        percent=first.percent,
        gap_before=gap_before,
        char_start=start,
        char_end=start + len(text),
        seq_end=after.seq if tail and after is not None else last,
    )


def _outside(passage: Hit, better: list[Hit], min_chars: int = 200) -> Hit | None:
    """The passage less any text it shares with the better passages (at their edges), or None when
    what is left is shorter than min_chars."""
    if passage.char_start is None or passage.char_end is None:
        return passage
    start, end = passage.char_start, passage.char_end
    for other in better:
        if other.book_id != passage.book_id or other.char_start is None or other.char_end is None:
            continue
        if other.char_start < end and start < other.char_end:
            if other.char_start <= start:
                start = max(start, other.char_end)
            elif other.char_end >= end:
                end = min(end, other.char_start)
            else:
                return passage  # a better passage inside this one cannot be: keep it whole
    if (start, end) == (passage.char_start, passage.char_end):
        return passage
    text = passage.text[start - passage.char_start : end - passage.char_start]
    lead = len(text) - len(text.lstrip())
    text = text.strip()
    if len(text) < min_chars:
        return None
    at = start - passage.char_start + lead
    return _cut(passage, at, at + len(text))


def _same_place(other: Hit | None, passage: Hit) -> bool:
    return (
        other is not None
        and other.chapter == passage.chapter
        and other.page == passage.page
        and other.char_start is not None
        and other.char_end is not None
    )


def _tail_start(chunk: Hit, room: int, gap: str) -> int | None:
    """Where chunk's last whole sentences begin that, with the gap after them, fit in room characters."""
    for start, _ in text_sentence_spans(chunk.text):
        if len(chunk.text) - start + len(gap) <= room:
            return start
    return None


def _head_sentences(chunk: Hit, room: int) -> str:
    """The gap before chunk and its first whole sentences within room characters ("" if none fit)."""
    best = ""
    for _, end in text_sentence_spans(chunk.text):
        piece = chunk.gap_before + chunk.text[:end]
        if len(piece) > room:
            break
        best = piece
    return best


def _joined_score(passage: Hit, ranked: list[Hit], bonus: float) -> float:
    if passage.seq_end is None:
        return passage.score
    parts = [
        h.score for h in ranked if h.book_id == passage.book_id and passage.seq <= h.seq <= passage.seq_end
    ]
    return passage.score + bonus * (sum(parts) - max(parts, default=0.0))


def _story_bonus(hits: list[Hit], weight: float, depth: int) -> list[Hit]:
    """Add weight x (the share of the best hits' score that falls in a hit's chapter, itself left out)."""
    votes: dict[tuple[int, str | None], float] = {}
    best = sorted(hits, key=lambda hit: -hit.score)[:depth]
    for hit in best:
        votes[(hit.book_id, hit.chapter)] = votes.get((hit.book_id, hit.chapter), 0.0) + hit.score
    total = sum(hit.score for hit in best) or 1.0
    top = {id(hit) for hit in best}
    out = []
    for hit in hits:
        if hit.chapter is None:
            out.append(hit)
            continue
        vote = votes.get((hit.book_id, hit.chapter), 0.0) - (hit.score if id(hit) in top else 0.0)
        out.append(replace(hit, score=round(hit.score + weight * vote / total, 6)))
    return out


def join_neighbours(hits: Sequence[Hit], max_chars: int) -> list[Hit]:
    """Join hits of adjacent chunks (same book and chapter) into one passage of up to max_chars,
    ranked where its best part was; a hit inside an already joined passage is dropped."""
    if max_chars <= 0:
        return list(hits)
    groups: list[list[Hit]] = []
    for hit in hits:
        for group in groups:
            first, last = group[0], group[-1]
            if hit.book_id != first.book_id:
                continue
            if first.seq <= hit.seq <= (last.seq_end or last.seq):
                break
            before = hit.seq == first.seq - 1 and (hit.seq_end is None)
            after = hit.seq == (last.seq_end or last.seq) + 1
            if (before or after) and hit.chapter == first.chapter and _joined_size(group, hit) <= max_chars:
                group.insert(0, hit) if before else group.append(hit)
                break
        else:
            groups.append([hit])
    return [_joined(group) for group in groups]


def _joined_size(group: list[Hit], hit: Hit) -> int:
    start = min(group[0].char_start or 0, hit.char_start or 0)
    end = max(group[-1].char_end or 0, hit.char_end or 0)
    return end - start if start or end else sum(len(h.text) for h in group) + len(hit.text)


def _joined(group: list[Hit]) -> Hit:
    if len(group) == 1:
        return group[0]
    text = group[0].text
    for hit in group[1:]:
        text += hit.gap_before + hit.text
    first, last = group[0], group[-1]
    return replace(
        first,
        text=text,
        score=max(hit.score for hit in group),
        char_end=last.char_end,
        seq_end=last.seq_end or last.seq,
    )


def _filter(
    user_id: int, book_ids: Sequence[int] | None, limits: Mapping[int, float] | None = None
) -> models.Filter:
    must: list[models.Condition] = [
        models.FieldCondition(key="user_id", match=models.MatchValue(value=user_id))
    ]
    if book_ids is not None:
        must.append(
            models.FieldCondition(key="book_id", match=models.MatchAny(any=[int(b) for b in book_ids]))
        )
    if limits:
        # Either a book without a limit, or a passage of a limited book before the reader's place.
        limited = sorted(limits)
        either: list[models.Condition] = [
            models.Filter(must_not=[models.FieldCondition(key="book_id", match=models.MatchAny(any=limited))])
        ]
        either += [
            models.Filter(
                must=[
                    models.FieldCondition(key="book_id", match=models.MatchValue(value=book)),
                    models.FieldCondition(key="percent", range=models.Range(lt=float(limits[book]))),
                ]
            )
            for book in limited
        ]
        must.append(models.Filter(should=either))
    return models.Filter(must=must)


def _point(
    user_id: int,
    book_id: int,
    language: str | None,
    chunk: Chunk,
    windows: np.ndarray | None,
    terms: lexical.SparseVector,
) -> models.PointStruct:
    payload = {
        "user_id": user_id,
        "book_id": book_id,
        "seq": chunk.seq,
        "page": chunk.page,
        "chapter": chunk.chapter,
        "percent": chunk.percent,
        "text": chunk.text,
        "lang": lexical.detect_language(chunk.text, default=language or "en"),
        "char_start": chunk.char_start,
        "char_end": chunk.char_end,
        "gap_before": chunk.gap_before,
    }
    vector: dict[str, Any] = {LEXICAL: models.SparseVector(indices=terms.indices, values=terms.values)}
    if windows is not None:
        vector[DENSE] = windows.tolist()
    return models.PointStruct(
        id=point_id(user_id, book_id, chunk.seq),
        vector=vector,
        payload=payload,
    )


def _hit(point: models.ScoredPoint) -> Hit:
    payload = point.payload or {}
    return Hit(
        book_id=int(payload["book_id"]),
        seq=int(payload["seq"]),
        text=str(payload["text"]),
        page=payload.get("page"),
        chapter=payload.get("chapter"),
        percent=float(payload.get("percent") or 0.0),
        score=float(point.score),
        char_start=payload.get("char_start"),
        char_end=payload.get("char_end"),
        lang=payload.get("lang"),
        gap_before=payload.get("gap_before", " "),
    )


def build_search_index(settings: ServiceSettings, *, embedder: Embedder | None = None) -> SearchIndex:
    """The index the settings describe: a Qdrant server at QDRANT_URL, else Qdrant Edge under DATA_DIR
    (a collection that local mode kept in DATA_DIR/qdrant is copied in when first opened)."""
    embedder = embedder or build_embedder(settings)
    client: QdrantClient | EdgeFolder
    if settings.qdrant_url:
        key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        client = QdrantClient(url=settings.qdrant_url, api_key=key, timeout=60)
    else:
        client = EdgeFolder(settings.qdrant_path, local_mode_path=settings.qdrant_local_mode_path)
    return SearchIndex(client, embedder, collection_name(settings.qdrant_collection, embedder))
