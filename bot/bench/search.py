"""`librarity bench search`: how long one search takes on a full shelf, searched as the bot searches.

The shelf, one user's: a 1,000-page book (the first 2,000,000 characters of the King James Bible, in
2,000-character standard pages: Genesis to Job) and the 10 smallest other books of
../shared/data/books/gutenberg, read and chunked as ingestion does, with their dense vectors. The
questions (QUESTIONS, about the big book) are asked of that book (a book's chat) and of the whole shelf
("all books"): hybrid search, the chat's k and context budget, each question embedded afresh (the bot
caches repeated ones). A search's time is `SearchIndex.search` from call to passages: query embedding,
both engine queries, fusion, re-ranking and widening; "embed" is the query embedding's share.

Engines (`--engine`, several comma-separated): edge (Qdrant Edge, the embedded default) and local-mode
(qdrant-client's local mode, the embedded default before Edge), each in a temporary folder. The books'
window vectors are cached on disk (bench-results/.cache, shared with `bench retrieval`), so a second
run embeds nothing; the cache changes no result.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bot.bench.retrieval import CachedEmbedder
from services.search.embeddings import LocalEmbedder

logger = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "books" / "gutenberg"
BIG_BOOK = "bible-kjv.txt"
PAGE_CHARS = 2000
USER = 1
K = 8  # services/chat/answer.py: DEFAULT_K and CONTEXT_CHARS
BUDGET = 6000
ENGINES = ("edge", "local-mode")
QUESTIONS = (
    "What did God create on the first day?",
    "What did Cain do to his brother Abel?",
    "Who built the ark and how big was it?",
    "What was the sign of the covenant after the flood?",
    "Why did Lot's wife become a pillar of salt?",
    "Who was Abraham asked to sacrifice on the mountain?",
    "What did Esau sell for a mess of pottage?",
    "Why did Jacob wrestle with the angel?",
    "How many sons did Jacob have?",
    "Who sold Joseph into Egypt?",
    "What did Pharaoh dream about the fat and lean cattle?",
    "How did Moses part the Red Sea?",
    "What food did God send the Israelites in the wilderness?",
    "What were the ten commandments written on?",
    "Why did the people make a golden calf?",
    "What did Balaam's ass say to him?",
    "Who led the people across the Jordan after Moses died?",
    "How did the walls of Jericho fall?",
    "Why did Samson lose his strength?",
    "What did Ruth say to Naomi?",
    "Who was the mother of Samuel?",
    "How did David kill Goliath?",
    "Who was the wise king who built the temple?",
    "What did the queen of Sheba bring to Solomon?",
    "How did Elijah defeat the prophets of Baal?",
    "Who was taken up to heaven in a whirlwind?",
    "What happened to Jezebel?",
    "Who rebuilt the walls of Jerusalem?",
    "Why did Esther go to the king?",
    "What did Satan do to Job's children?",
)


class ShelfEmbedder(CachedEmbedder):
    """The books' windows from the on-disk cache; each question embedded afresh, timed."""

    def __init__(self, path: Path | None) -> None:
        super().__init__(path)
        self.query_ms: list[float] = []

    async def embed_query(self, text: str) -> np.ndarray:
        self._cache.clear()  # LocalEmbedder's cache of repeated questions: each is asked afresh here
        started = time.perf_counter()
        vector = await LocalEmbedder.embed_query(self, text)
        self.query_ms.append((time.perf_counter() - started) * 1000)
        return vector


def add_arguments(parser: Any) -> None:
    parser.add_argument("--data", type=Path, default=None, help="the Gutenberg books folder")
    parser.add_argument("--engine", default="edge", help=f"comma-separated: {', '.join(ENGINES)}")
    parser.add_argument("--questions", type=int, default=None, help=f"the first N of the {len(QUESTIONS)}")
    parser.add_argument("--pages", type=int, default=1000, help="the big book's pages (2,000 characters)")
    parser.add_argument("--others", type=int, default=10, help="other books on the shelf")
    parser.add_argument("--no-cache", action="store_true", help="embed the books again")
    parser.add_argument("--out", type=Path, default=Path("bench-results"))


def shelf_books(data: Path, pages: int, others: int) -> list[tuple[str, bytes]]:
    """(name, file) of the shelf's books: the big book cut to `pages`, then the smallest others."""
    big = (data / BIG_BOOK).read_text(encoding="utf-8")[: pages * PAGE_CHARS].encode("utf-8")
    rest = sorted(
        (path for path in data.glob("*.txt") if path.name != BIG_BOOK and not path.stem.isupper()),
        key=lambda path: path.stat().st_size,
    )[:others]
    return [(BIG_BOOK, big), *((path.name, path.read_bytes()) for path in rest)]


def _percentile(values: list[float], share: float) -> float:
    return round(float(np.percentile(values, share * 100)), 1) if values else 0.0


async def measure(
    engine: str, books: list[tuple[str, bytes]], embedder: ShelfEmbedder, questions: list[str]
) -> dict[str, Any]:
    from qdrant_client import QdrantClient

    from services.ingestion.extract import extract
    from services.search.chunking import chunk_book
    from services.search.edge_folder import EdgeFolder
    from services.search.index import SearchIndex, timed_searches

    with tempfile.TemporaryDirectory(prefix="librarity-bench-search-") as folder:
        client = EdgeFolder(Path(folder)) if engine == "edge" else QdrantClient(path=folder)
        index = SearchIndex(client, embedder, "bench-search", local=engine == "local-mode")
        try:
            started, chunks = time.perf_counter(), 0
            for book_id, (name, data) in enumerate(books, start=1):
                book = extract(data, name)
                chunks += await index.index_chunks(USER, book_id, book.language, chunk_book(book))
            indexed_s = time.perf_counter() - started
            logger.info("%s: %d chunks of %d books indexed in %.1fs", engine, chunks, len(books), indexed_s)
            await index.search(USER, "warm up", k=K, budget=BUDGET)
            row: dict[str, Any] = {
                "engine": engine,
                "books": len(books),
                "chunks": chunks,
                "index_s": round(indexed_s, 1),
            }
            for scope, book_ids in (("book", [1]), ("shelf", None)):
                embedder.query_ms.clear()
                with timed_searches() as times:
                    for question in questions:
                        await index.search(USER, question, book_ids=book_ids, k=K, budget=BUDGET)
                row[scope] = {
                    "questions": len(times),
                    "p50_ms": _percentile(times, 0.5),
                    "p95_ms": _percentile(times, 0.95),
                    "max_ms": round(max(times), 1),
                    "embed_p50_ms": _percentile(embedder.query_ms, 0.5),
                }
                logger.info("%s, %s: %s", engine, scope, row[scope])
            return row
        finally:
            await index.close()


def markdown_table(rows: list[dict[str, Any]], pages: int) -> str:
    lines = [
        "| engine | searched | chunks | questions | p50 ms | p95 ms | max ms | of which query embedding p50 ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        for scope, label in (("book", f"the {pages:,}-page book"), ("shelf", "all books")):
            s = row[scope]
            lines.append(
                f"| {row['engine']} | {label} | {row['chunks']} | {s['questions']} | {s['p50_ms']} | "
                f"{s['p95_ms']} | {s['max_ms']} | {s['embed_p50_ms']} |"
            )
    return "\n".join(lines)


async def run(args: Any, settings: Any) -> int:
    """The `bench search` entry point (bot/cli/bench.py dispatches here)."""
    engines = [e.strip() for e in args.engine.split(",") if e.strip()]
    unknown = set(engines) - set(ENGINES)
    if unknown:
        print(f"unknown engine(s): {', '.join(sorted(unknown))}; choose from {', '.join(ENGINES)}")
        return 2
    books = shelf_books(args.data or DATA, args.pages, args.others)
    embedder = ShelfEmbedder(None if args.no_cache else args.out / ".cache" / "embeddings-minilm.npz")
    questions = list(QUESTIONS[: args.questions])
    rows = []
    for engine in engines:
        rows.append(await measure(engine, books, embedder, questions))
        embedder.save()  # the next engine (and the next run) finds the books embedded
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"search-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"pages": args.pages, "rows": rows}, indent=2), encoding="utf-8")
    print(markdown_table(rows, args.pages))
    print(f"\nresults in {path}")
    return 0
