"""The search index on both engines (a temp dir) with the real MiniLM model: Qdrant Edge, the embedded
default, and qdrant-client's local mode.

A real Qdrant server is not available in this environment, so the server path (QDRANT_URL, wait=False
upserts) is not exercised here; local mode runs the same qdrant-client calls.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import QdrantClient

from services.search import lexical
from services.search.chunking import ChunkingOptions, chunk_text
from services.search.edge_folder import EdgeFolder
from services.search.embeddings import LocalEmbedder
from services.search.index import Hit, SearchIndex, SearchTuning, build_search_index, pack, point_id
from services.search.lexical import stems
from tests.ingestion_helpers import ENGINES, engine_client

ENGLISH_BOOK = """
The Lighthouse

Old Martha kept the lighthouse on the northern cliff for forty years. Every night she climbed the
ninety steps and lit the great lamp, so that the fishing boats could find the harbour in the fog.

One winter a storm broke the lamp's glass. Martha carried a lantern up the tower and held it in the
window until morning, and the boats came home safe.

The Baker

In the village below, a baker named Tobias made rye bread with caraway seeds. He rose at three in the
morning to light his oven, and the whole street smelled of bread by five.

Tobias sold his loaves at the Saturday market, where the children begged for his honey buns.
""".strip()

RUSSIAN_BOOK = """
Мельница

Старый мельник Фёдор жил у реки и молол муку для всей деревни. Каждое утро он открывал запруду, и
тяжёлое колесо начинало вращаться.

Однажды весной половодье сорвало колесо, и мельник три недели чинил его вместе с сыновьями.

Пасека

За лесом дед Архип держал пасеку. Его пчёлы собирали липовый мёд, и зимой он продавал мёд на
ярмарке в городе.
""".strip()

OPTIONS = ChunkingOptions(target_chars=250, min_chars=20)


class CountingEmbedder:
    """The local model, counting the document texts it is asked to embed."""

    def __init__(self, inner: LocalEmbedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.documents = 0

    async def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.documents += len(texts)
        return await self.inner.embed_documents(texts)

    async def embed_query(self, text: str) -> np.ndarray:
        return await self.inner.embed_query(text)

    async def aclose(self) -> None:
        return None


@pytest.fixture(scope="session")
def local_embedder() -> LocalEmbedder:
    embedder = LocalEmbedder(batch_size=16)
    from services.search.embeddings import load_local_model

    load_local_model()  # once for the whole session (the module caches it)
    return embedder


@pytest.fixture(params=ENGINES)
async def index(
    request: pytest.FixtureRequest, tmp_path: Path, local_embedder: LocalEmbedder
) -> AsyncIterator[SearchIndex]:
    embedder = CountingEmbedder(local_embedder)
    search = SearchIndex(
        engine_client(request.param, tmp_path / "qdrant"),
        embedder,  # type: ignore[arg-type]
        "test_chunks",
        local=request.param == "local-mode",
        tuning=SearchTuning(upsert_batch=3),
    )
    yield search
    await search.close()


async def _add(index: SearchIndex, user: int, book: int, text: str, language: str) -> int:
    return await index.index_chunks(user, book, language, chunk_text(text, options=OPTIONS))


async def test_hybrid_finds_the_passage_in_english_and_russian(index: SearchIndex) -> None:
    await _add(index, 1, 10, ENGLISH_BOOK, "en")
    await _add(index, 1, 11, RUSSIAN_BOOK, "ru")

    hits = await index.search(1, "Who held a lantern in the tower during the storm?", k=3)
    assert "lantern" in hits[0].text and hits[0].book_id == 10
    assert hits[0].score >= hits[-1].score

    hits = await index.search(1, "Кто чинил колесо мельницы?", k=3)
    assert "колесо" in hits[0].text and hits[0].book_id == 11 and hits[0].lang == "ru"

    # Stemming: another word form than the book's ("мёду" vs "мёд"; "baked" vs "baker").
    hits = await index.search(1, "где продавали мёду", book_ids=[11], k=1)
    assert "ярмарке" in hits[0].text
    hits = await index.search(1, "seeded breads", book_ids=[10], k=1, mode="lexical")
    assert "caraway seeds" in hits[0].text

    hits = await index.search(1, "What did the baker make?", k=2, mode="dense")
    assert all(hit.book_id == 10 for hit in hits)


async def test_hits_carry_places(index: SearchIndex) -> None:
    chunks = chunk_text(ENGLISH_BOOK, page=7, chapter="Stories", options=OPTIONS)
    await index.index_chunks(1, 10, "en", chunks)
    hit = (await index.search(1, "honey buns at the market", k=1))[0]
    chunk = next(c for c in chunks if c.seq == hit.seq)
    assert (hit.page, hit.chapter, hit.percent, hit.char_start) == (
        7,
        "Stories",
        chunk.percent,
        chunk.char_start,
    )
    assert ENGLISH_BOOK[hit.char_start : hit.char_end] == hit.text  # type: ignore[misc]
    assert hit.text.startswith(chunk.text)
    single = (await index.search(1, "honey buns at the market", k=1, mode="lexical"))[0]
    assert single.text == next(c.text for c in chunks if c.seq == single.seq) and single.seq_end is None


async def test_users_never_see_each_others_chunks(index: SearchIndex) -> None:
    await _add(index, 1, 10, ENGLISH_BOOK, "en")
    await _add(index, 2, 20, RUSSIAN_BOOK, "ru")
    for mode in ("hybrid", "dense", "lexical"):
        # User 2 asks about user 1's book, even naming its id: nothing of user 1 comes back.
        assert await index.search(2, "lighthouse lantern storm", book_ids=[10], mode=mode) == []  # type: ignore[arg-type]
        hits = await index.search(2, "lighthouse lantern storm Martha", mode=mode)  # type: ignore[arg-type]
        assert all(hit.book_id == 20 for hit in hits)
    assert await index.search(3, "lighthouse") == []


async def test_a_reading_limit_keeps_later_passages_out(index: SearchIndex) -> None:
    """Spoiler-safe reading: with a limit on a book, nothing at or after it is found or added around a
    passage; other books are searched as before."""
    await _add(index, 1, 10, ENGLISH_BOOK, "en")
    await _add(index, 1, 11, RUSSIAN_BOOK, "ru")
    chunks = chunk_text(ENGLISH_BOOK, options=OPTIONS)
    baker = next(c for c in chunks if "Tobias sold" in c.text)
    limit = {10: baker.percent}  # the reader has got to the baker's market day, not further
    for mode in ("hybrid", "dense", "lexical"):
        hits = await index.search(1, "honey buns at the Saturday market", k=5, mode=mode, limits=limit)  # type: ignore[arg-type]
        assert all(hit.percent < baker.percent for hit in hits if hit.book_id == 10)
        assert all("honey buns" not in hit.text for hit in hits)
        unlimited = await index.search(1, "honey buns at the Saturday market", k=5, mode=mode)  # type: ignore[arg-type]
        assert any("honey buns" in hit.text for hit in unlimited)
    # The other book is not limited.
    hits = await index.search(1, "Кто чинил колесо мельницы?", k=3, limits=limit)
    assert hits and hits[0].book_id == 11
    # Nothing before the limit's first passage: a limit at 0 leaves the book empty.
    assert await index.search(1, "lighthouse lantern", book_ids=[10], limits={10: 0.0}) == []


async def test_delete_book_removes_its_points(index: SearchIndex) -> None:
    count = await _add(index, 1, 10, ENGLISH_BOOK, "en")
    await _add(index, 1, 11, RUSSIAN_BOOK, "ru")
    assert await index.count(1, 10) == count > 0
    await index.delete_book(1, 10)
    assert await index.count(1, 10) == 0
    assert await index.count(1, 11) > 0
    assert all(hit.book_id == 11 for hit in await index.search(1, "lighthouse lantern"))


async def test_copy_book_reuses_vectors(index: SearchIndex) -> None:
    count = await _add(index, 1, 10, ENGLISH_BOOK, "en")
    embedder: CountingEmbedder = index.embedder  # type: ignore[assignment]
    embedded = embedder.documents
    assert await index.copy_book(1, 10, 2, 30) == count
    assert embedder.documents == embedded  # no re-embedding
    hits = await index.search(2, "lantern in the storm", k=1)
    assert hits[0].book_id == 30 and "lantern" in hits[0].text
    assert await index.count(1, 10) == count  # the source stays


async def test_progress_is_reported_per_batch_and_reindexing_replaces(index: SearchIndex) -> None:
    seen: list[tuple[int, int]] = []

    async def progress(done: int, total: int) -> None:
        seen.append((done, total))

    chunks = chunk_text(ENGLISH_BOOK, options=OPTIONS)
    await index.index_chunks(1, 10, "en", chunks, progress)
    assert seen[-1] == (len(chunks), len(chunks)) and len(seen) == -(-len(chunks) // 3)
    await index.index_chunks(1, 10, "en", chunks)  # same ids: replaced, not duplicated
    assert await index.count(1, 10) == len(chunks)
    assert point_id(1, 10, 0) != point_id(2, 10, 0)


async def test_empty_inputs(index: SearchIndex) -> None:
    await _add(index, 1, 10, ENGLISH_BOOK, "en")
    assert await index.search(1, "   ") == []
    assert await index.search(1, "lighthouse", book_ids=[]) == []
    assert await index.search(1, "the of and", mode="lexical") == []
    assert await index.index_chunks(1, 12, "en", []) == 0
    with pytest.raises(ValueError):
        await index.search(1, "x", mode="fuzzy")  # type: ignore[arg-type]


async def test_qdrant_fusion_modes_also_work(index: SearchIndex) -> None:
    await _add(index, 1, 10, ENGLISH_BOOK, "en")
    for fusion in ("rrf", "dbsf"):
        index.tuning = SearchTuning(fusion=fusion)  # type: ignore[arg-type]
        hits = await index.search(1, "caraway rye bread baker", k=2)
        assert "caraway" in hits[0].text


MILL_BOOK = """
The miller's daughter lived by the mill wheel. Every morning the miller and his daughter mended the wheel
with pine pegs, and the mill wheel turned all day long on the river.

One night a goblin crept into the mill and hid the golden spindle under the wheel. The miller's daughter
heard the wheel creak and the goblin laugh, but she saw nothing in the dark.

At dawn the miller found the golden spindle beside the mill wheel, wrapped in wet moss from the river.

The king rode past the mill at noon. He asked the miller for bread, and the miller gave him a loaf.
""".strip()


async def test_query_expansion_adds_the_books_words_and_keeps_to_the_users_books(index: SearchIndex) -> None:
    await _add(index, 1, 10, MILL_BOOK, "en")
    await _add(index, 2, 20, MILL_BOOK, "en")
    question = "Who hid the spindle?"
    index.tuning = SearchTuning(context_chars=0, merge_chars=0)
    plain = await index.search(1, question, k=4)
    index.tuning = SearchTuning(expansion=0.6, expansion_docs=3, context_chars=0, merge_chars=0)
    hits = await index.search(1, question, k=4)
    assert "goblin" in hits[0].text and {hit.book_id for hit in hits} == {10}
    # The best passages share words to add ("mill", "wheel", ...): the second, expanded query ran.
    feedback = [hit.text for hit in plain[:3]]
    terms = lexical.expansion_terms(question, feedback, [1.0] * len(feedback), [hit.text for hit in plain])
    assert lexical.stems("wheel")[0] in terms


async def test_build_search_index_uses_qdrant_edge_under_data_dir(make_settings, local_embedder) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings()
    index = build_search_index(settings, embedder=local_embedder)
    try:
        assert isinstance(index.client, EdgeFolder) and not index.local
        assert index.collection == "librarity_chunks_all-minilm-l6-v2"
        await _add(index, 5, 1, ENGLISH_BOOK, "en")
        assert (settings.data_dir / "qdrant-edge" / index.collection).is_dir()
        assert not (settings.data_dir / "qdrant").exists()
        assert (await index.search(5, "lighthouse", k=1))[0].book_id == 1
    finally:
        await index.close()


@pytest.mark.parametrize("engine", ENGINES)
async def test_a_collection_from_an_older_schema_is_refused(
    engine: str, tmp_path: Path, local_embedder: LocalEmbedder
) -> None:
    from qdrant_client import models

    old_layout = {"dense": models.VectorParams(size=384, distance=models.Distance.COSINE)}
    earlier = engine_client(engine, tmp_path / "old")  # an older Librarity made the collection
    if isinstance(earlier, QdrantClient):
        earlier.create_collection("old", vectors_config=old_layout)
    else:
        earlier.open_collection("old", old_layout, {}, [])
    earlier.close()
    client = engine_client(engine, tmp_path / "old")
    index = SearchIndex(client, local_embedder, "old", local=engine == "local-mode")
    try:
        with pytest.raises(RuntimeError, match="QDRANT_COLLECTION"):
            await index.search(1, "anything")
    finally:
        await index.close()


async def test_neighbouring_hits_join_into_the_exact_book_text(index: SearchIndex) -> None:
    text = "\n\n".join(f"Part {n}. The otter swam to the mill. It carried a silver key." for n in range(8))
    chunks = chunk_text(text, options=ChunkingOptions(target_chars=60, min_chars=10))
    await index.index_chunks(1, 10, "en", chunks)
    index.tuning = SearchTuning(merge_chars=200, context_chars=0)
    hits = await index.search(1, "otter silver key mill", k=10)
    joined = [hit for hit in hits if hit.seq_end is not None]
    assert joined, "adjacent chunks were all hits: some must join"
    for hit in hits:
        assert text[hit.char_start : hit.char_end] == hit.text  # type: ignore[misc]
        assert len(hit.text) <= 200
    covered = [seq for hit in hits for seq in range(hit.seq, (hit.seq_end or hit.seq) + 1)]
    assert len(covered) == len(set(covered))  # no chunk twice
    index.tuning = SearchTuning(merge_chars=0, context_chars=0)
    assert all(hit.seq_end is None for hit in await index.search(1, "otter silver key mill", k=10))


async def test_short_passages_take_the_sentences_around_them(index: SearchIndex) -> None:
    animals = ["heron", "badger", "otter", "weasel", "marten", "beaver", "stoat", "vole"]
    text = " ".join(f"The {animal} waited by the river. It saw the boats pass." for animal in animals)
    chunks = chunk_text(text, options=ChunkingOptions(target_chars=60, min_chars=10))
    await index.index_chunks(1, 10, "en", chunks)
    index.tuning = SearchTuning(context_chars=150, first_context_chars=0, merge_chars=0)
    hits = await index.search(1, "marten", k=3)
    best = hits[0]
    assert text[best.char_start : best.char_end] == best.text  # type: ignore[misc]
    assert "The marten waited" in best.text and 100 < len(best.text) <= 150
    assert best.seq < best.seq_end  # type: ignore[operator]
    assert best.text.startswith("It saw") or best.text.startswith("The ")  # whole sentences
    for hit in hits[1:]:  # no text twice
        assert hit.char_start >= best.char_end or hit.char_end <= best.char_start  # type: ignore[operator]
        assert text[hit.char_start : hit.char_end] == hit.text  # type: ignore[misc]
    # The best passage may take more of its surroundings than the others.
    index.tuning = SearchTuning(context_chars=150, first_context_chars=280, merge_chars=0)
    wider = await index.search(1, "marten", k=3)
    assert "The marten waited" in wider[0].text and 150 < len(wider[0].text) <= 280
    assert text[wider[0].char_start : wider[0].char_end] == wider[0].text  # type: ignore[misc]
    assert all(len(hit.text) <= 150 for hit in wider[1:])


async def test_a_budget_holds_more_places_then_their_surroundings(index: SearchIndex) -> None:
    """Given the context the caller will use, the search fills it with places first and widens them
    with what room is left, rather than widening a few and leaving the next place out."""
    animals = ["heron", "badger", "otter", "weasel", "marten", "beaver", "stoat", "vole", "hare", "mole"]
    text = " ".join(f"The {animal} waited by the {animal} river. It saw boats." for animal in animals)
    chunks = chunk_text(text, options=ChunkingOptions(target_chars=50, min_chars=10))
    await index.index_chunks(1, 10, "en", chunks)
    index.tuning = SearchTuning(context_chars=150, first_context_chars=150, merge_chars=0)
    question = "Where did the heron, the marten and the mole wait?"
    budget = 320

    def fitted(hits: list[Hit]) -> list[Hit]:  # what a caller with that budget keeps (AnswerService._fit)
        kept: list[Hit] = []
        for hit in hits:
            if kept and sum(len(h.text) for h in kept) + len(hit.text) > budget:
                break
            kept.append(hit)
        return kept

    unpacked = fitted(await index.search(1, question, k=6))
    packed = fitted(await index.search(1, question, k=6, budget=budget))
    assert len(packed) > len(unpacked)
    assert sum(len(hit.text) for hit in packed) <= budget
    assert {"heron", "marten", "mole"} <= {a for a in animals if any(a in h.text for h in packed)}
    assert len(packed[0].text) > len(chunks[0].text)  # the best passage still has its surroundings
    spans = sorted((hit.char_start or 0, hit.char_end or 0) for hit in packed)
    for hit in packed:
        assert text[hit.char_start : hit.char_end] == hit.text  # type: ignore[misc]
    assert all(end <= start for (_, end), (start, _) in pairwise(spans))  # no text twice


def test_the_room_left_takes_the_sentences_of_the_next_place_that_answer() -> None:
    sentences = [
        f"Sentence {n} tells of the {'golden goose' if n == 27 else 'grey road'} here." for n in range(40)
    ]
    text = " ".join(sentences)
    starts = [text.index(sentence) for sentence in sentences]

    def hit(seq: int, first: int, last: int) -> Hit:  # sentences first..last as one chunk
        start, end = starts[first], starts[last] + len(sentences[last])
        return Hit(10, seq, text[start:end], None, None, 0.0, 1.0, start, end)

    passages = [hit(0, 0, 5), hit(1, 10, 15), hit(2, 22, 33)]
    room = 220
    budget = len(passages[0].text) + len(passages[1].text) + room
    packed = pack(passages, {}, budget, 0, 0, frozenset(stems("Who found the golden goose?")))
    assert packed[:2] == passages[:2]
    piece = packed[2]
    assert "golden goose" in piece.text and len(piece.text) <= room < len(passages[2].text)
    assert text[piece.char_start : piece.char_end] == piece.text  # type: ignore[misc]
    assert piece.text.startswith("Sentence") and piece.text.endswith("here.")  # whole sentences
    assert sum(len(p.text) for p in packed[:3]) <= budget
    # Nothing of the question there, or too little room: the place is left out, not cut.
    assert len(pack(passages, {}, budget, 0, 0, frozenset(stems("silver swan")))) == len(passages)
    assert pack(passages, {}, budget, 0, 0, frozenset(stems("silver swan")))[2] == passages[2]
    tight = len(passages[0].text) + len(passages[1].text) + 100
    assert pack(passages, {}, tight, 0, 0, frozenset(stems("golden goose")))[2] == passages[2]


async def test_lexical_first_then_dense(index: SearchIndex) -> None:
    chunks = chunk_text(ENGLISH_BOOK, options=OPTIONS)
    embedder: CountingEmbedder = index.embedder  # type: ignore[assignment]
    await index.index_chunks(1, 10, "en", chunks, dense=False)
    assert embedder.documents == 0  # no model needed to make the book searchable
    assert "lantern" in (await index.search(1, "lantern storm", k=1))[0].text  # lexical only, for now
    assert await index.search(1, "lantern storm", mode="dense") == []
    seen: list[tuple[int, int]] = []

    async def progress(done: int, total: int) -> None:
        seen.append((done, total))

    assert await index.add_dense(1, 10, chunks, progress) == len(chunks)
    assert seen[-1] == (len(chunks), len(chunks)) and embedder.documents > 0
    hits = await index.search(1, "Who kept the light burning by hand?", k=2, mode="dense")
    assert hits and hits[0].text == next(c.text for c in chunks if c.seq == hits[0].seq)
    assert await index.count(1, 10) == len(chunks)
