"""`librarity bench retrieval`: retrieval quality on ../shared/data/qa/, beside two baselines.

Systems, all with the same MiniLM model and measured in the same run:
- ours: `chunk_book` chunks in a `SearchIndex` (Qdrant Edge in a temporary folder, the embedded
  default), `search(mode=...)`;
- dense baseline: RecursiveCharacterTextSplitter(1000, 200) chunks, cosine similarity;
- BM25 baseline: rank_bm25's BM25Okapi over the same chunks, lower-cased words (`\\w+`; splitting on
  whitespace alone leaves punctuation on the words and scores far lower, 0.67 vs 0.85 R@5 on the
  norwegian anthology, so this is the stronger baseline).

At equal context: each system's ranked passages are cut at 5,000 characters in total (the first
passage always counts) and a hit only counts within that budget. fairytaleqa: a passage hits when it
overlaps an evidence span; xquad: when it contains the answer span (and is in the right article).
Embeddings are cached on disk by text (bench-results/.cache) so repeated runs skip re-embedding;
the cache changes no result.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from bot.bench.translator import StandIn
from services.search import lexical
from services.search.chunking import ChunkingOptions, TextSection, chunk_sections
from services.search.edge_folder import EdgeFolder
from services.search.embeddings import LOCAL_MODEL, LocalEmbedder, encode_local
from services.search.extractive import extractive_answer
from services.search.index import MODES, Hit, SearchIndex, SearchTuning
from services.search.translate import CrossLanguageSearch, QueryTranslator

logger = logging.getLogger(__name__)

DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "qa"
BUDGET_CHARS = 5000
# The anthology nothing is ever tuned on (the last by name): left out of every run unless --held-out
# asks for it, and then measured once, at the end, with the settings chosen without it.
HELD_OUT = "wonderclock-fairybook"
# What `--tune` chooses between, by cross-validation over folds of the other anthologies: query-side
# settings only (the same index serves them all). Changes to the settings given on the command line.
TUNE_GRID: tuple[dict[str, Any], ...] = tuple(
    {"dense_weight": weight, "expansion": expansion}
    for weight in (0.3, 0.4, 0.5)
    for expansion in (0.0, 0.3, 0.6)
)
EXTRACT_CHARS = 600
SEARCH_K = 30  # enough passages to fill the budget with our smallest chunks


# --- data ------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Book:
    key: str
    text: str
    sections: list[TextSection]


@dataclass(slots=True)
class Question:
    qid: str
    text: str
    book: str
    spans: list[tuple[int, int]]  # evidence (overlap) or answer (containment) spans in the book text
    answers: list[str]
    explicit: bool


@dataclass(slots=True)
class Passage:
    book: str
    start: int
    end: int
    text: str


@dataclass(slots=True)
class Run:
    """One row of the table: questions searched over a shelf, one book or all of it."""

    name: str
    corpus: str  # which shelf (its books) the questions search
    questions: list[Question]
    per_book: bool  # search only the question's book, else the whole shelf
    rule: str  # "overlap" | "contain"
    # Cross-language rows: the question goes through the bot's CrossLanguageSearch with this translator.
    translator: QueryTranslator | None = None


def fairytale_books(root: Path, names: Sequence[str] | None) -> dict[str, tuple[Book, list[Question]]]:
    found = {}
    for path in sorted(root.glob("*.txt")):
        key = path.stem
        if key.startswith("SOURCE") or (names and key not in names):
            continue
        qa = path.with_name(f"{key}.qa.jsonl")
        if not qa.exists():
            continue
        text = path.read_text(encoding="utf-8")
        questions = []
        for line in qa.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            questions.append(
                Question(
                    qid=item["question_id"],
                    text=item["question"],
                    book=key,
                    spans=[tuple(span) for span in item["evidence_char_spans"]],  # type: ignore[misc]
                    answers=list(item["answers"]),
                    explicit=item.get("explicit_or_implicit") == "explicit",
                )
            )
        found[key] = (Book(key, text, markdown_sections(text)), questions)
    return found


def markdown_sections(text: str) -> list[TextSection]:
    """Sections at `### Title` lines (as the Markdown reader makes them), joining back to `text`."""
    parts = text.split("\n\n### ")
    sections = []
    for index, part in enumerate(parts):
        body = part if index == 0 else "### " + part
        title = body[4:].split("\n", 1)[0].strip() if body.startswith("### ") else None
        sections.append(TextSection(body, None, title))
    assert "\n\n".join(s.text for s in sections) == text
    return sections


def xquad_books(root: Path, language: str) -> tuple[dict[str, Book], list[Question]]:
    data = json.loads((root / f"xquad.{language}.json").read_text(encoding="utf-8"))["data"]
    books: dict[str, Book] = {}
    questions: list[Question] = []
    for article in data:
        key = article["title"]
        offset, texts = 0, []
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            for qa in paragraph["qas"]:
                answer = qa["answers"][0]
                start = offset + answer["answer_start"]
                questions.append(
                    Question(
                        qa["id"],
                        qa["question"],
                        key,
                        [(start, start + len(answer["text"]))],
                        [answer["text"]],
                        True,
                    )
                )
            texts.append(context)
            offset += len(context) + 2
        text = "\n\n".join(texts)
        books[key] = Book(key, text, [TextSection(t) for t in texts])
    return books, questions


# --- embeddings cache --------------------------------------------------------------------------------------


class CachedEmbedder(LocalEmbedder):
    """The local embedder with vectors remembered by text (in memory, and on disk between runs)."""

    def __init__(self, path: Path | None, batch_size: int = 64, precision: str = "auto") -> None:
        super().__init__(batch_size=batch_size, precision=precision)
        self.path = path
        self.vectors: dict[str, np.ndarray] = {}
        self.computed = 0
        if path is not None and path.exists():
            stored = np.load(path)
            self.vectors = dict(zip(stored["keys"].tolist(), stored["vectors"], strict=True))

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        keys = [self._key(t) for t in texts]
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in self.vectors))
        if missing:
            vectors = encode_local(missing, batch_size=self.batch_size, precision=self.precision)
            self.computed += len(missing)
            self.vectors.update(zip((self._key(t) for t in missing), vectors, strict=True))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.vectors[k] for k in keys])

    async def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return await asyncio.to_thread(self.encode, texts)

    async def embed_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def save(self) -> None:
        if self.path is None or not self.computed:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self.vectors)
        np.savez(self.path, keys=np.array(keys), vectors=np.stack([self.vectors[k] for k in keys]))


# --- systems -------------------------------------------------------------------------------------------------

Searcher = Callable[[Question], Sequence[Passage]]


class Baselines:
    """Dense and BM25 over RecursiveCharacterTextSplitter(1000, 200) chunks of each shelf."""

    def __init__(self, books: dict[str, Book], embedder: CachedEmbedder) -> None:
        from langchain_text_splitters import RecursiveCharacterTextSplitter
        from rank_bm25 import BM25Okapi

        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True)
        self.passages: list[Passage] = []
        for book in books.values():
            for doc in splitter.create_documents([book.text]):
                start = int(doc.metadata["start_index"])
                self.passages.append(
                    Passage(book.key, start, start + len(doc.page_content), doc.page_content)
                )
        self.vectors = embedder.encode([p.text for p in self.passages])
        self.by_book: dict[str, np.ndarray] = {}
        for index, passage in enumerate(self.passages):
            self.by_book.setdefault(passage.book, [])  # type: ignore[arg-type]
            self.by_book[passage.book].append(index)  # type: ignore[attr-defined]
        self.by_book = {key: np.array(value) for key, value in self.by_book.items()}
        self.bm25_all = BM25Okapi([_words(p.text) for p in self.passages])
        self.bm25_book = {
            key: BM25Okapi([_words(self.passages[i].text) for i in idx]) for key, idx in self.by_book.items()
        }
        self.embedder = embedder

    def dense(self, question: Question, per_book: bool, k: int = 10) -> list[Passage]:
        query = self.embedder.encode([question.text])[0]
        pool = self.by_book[question.book] if per_book else np.arange(len(self.passages))
        scores = self.vectors[pool] @ query
        return [self.passages[pool[i]] for i in np.argsort(-scores, kind="stable")[:k]]

    def bm25(self, question: Question, per_book: bool, k: int = 10) -> list[Passage]:
        tokens = _words(question.text)
        if per_book:
            pool = self.by_book[question.book]
            scores = self.bm25_book[question.book].get_scores(tokens)
        else:
            pool = np.arange(len(self.passages))
            scores = self.bm25_all.get_scores(tokens)
        return [self.passages[pool[i]] for i in np.argsort(-scores, kind="stable")[:k]]


def _words(text: str) -> list[str]:
    """The plain BM25 user's tokens: lower-cased words (punctuation split off, no stemming)."""
    return re.findall(r"\w+", text.lower())


# --- metrics -------------------------------------------------------------------------------------------------


def within_budget(passages: Sequence[Passage], budget: int = BUDGET_CHARS, limit: int = 10) -> list[Passage]:
    kept: list[Passage] = []
    used = 0
    for passage in passages[:limit]:
        if kept and used + len(passage.text) > budget:
            break
        kept.append(passage)
        used += len(passage.text)
    return kept


def is_hit(passage: Passage, question: Question, rule: str) -> bool:
    if passage.book != question.book:
        return False
    if rule == "overlap":
        return any(passage.start < end and start < passage.end for start, end in question.spans)
    return any(passage.start <= start and end <= passage.end for start, end in question.spans)


@dataclass(slots=True)
class Score:
    n: int = 0
    r1: float = 0.0
    r5: float = 0.0
    r10: float = 0.0
    mrr: float = 0.0
    passages: float = 0.0  # passages within the budget, on average
    found_in_reply: int = 0  # extractive: gold answer in the <= 600-char reply (explicit questions)
    explicit: int = 0
    seconds: list[float] = field(default_factory=list)  # per search (ours only)

    def add(self, ranked: Sequence[Passage], question: Question, rule: str) -> None:
        kept = within_budget(ranked)
        first = next((i for i, p in enumerate(kept) if is_hit(p, question, rule)), None)
        self.n += 1
        self.passages += len(kept)
        if first is not None:
            self.r1 += first < 1
            self.r5 += first < 5
            self.r10 += first < 10
            self.mrr += 1.0 / (first + 1)

    def as_dict(self) -> dict[str, float]:
        n = max(self.n, 1)
        result = {
            "n": self.n,
            "recall@1": round(self.r1 / n, 4),
            "recall@5": round(self.r5 / n, 4),
            "recall@10": round(self.r10 / n, 4),
            "mrr@10": round(self.mrr / n, 4),
            "passages_in_budget": round(self.passages / n, 2),
        }
        if self.explicit:
            result["answer_in_reply"] = round(self.found_in_reply / self.explicit, 4)
            result["explicit"] = self.explicit
        if self.seconds:
            result["search_ms_p50"] = round(1000 * float(np.percentile(self.seconds, 50)), 1)
            result["search_ms_p95"] = round(1000 * float(np.percentile(self.seconds, 95)), 1)
        return result


def answer_found(reply: str, answers: Iterable[str]) -> bool:
    haystack = _normal(reply)
    return any(_normal(answer) and _normal(answer) in haystack for answer in answers)


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower().replace("ё", "е")).split())


# --- the run -------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Options:
    data: Path
    sets: list[str] = field(default_factory=lambda: ["fairytale", "xquad"])
    books: list[str] | None = None
    limit: int | None = None  # questions per book (fairytale) / per language (xquad)
    modes: list[str] = field(default_factory=lambda: ["hybrid"])
    chunking: ChunkingOptions = field(default_factory=ChunkingOptions)
    tuning: SearchTuning = field(default_factory=SearchTuning)
    extractive: bool = True
    # Ours as a book is the moment it is ready: its words indexed, its dense vectors not yet in.
    at_ready: bool = False
    cache: Path | None = None
    out: Path = Path("bench-results")
    precision: str = "auto"  # EMBEDDINGS_PRECISION
    folds: int = 0  # 0: no held-out folds; K: anthologies split into K folds by sorted name
    translator_noise: float = 0.0  # > 0: also xquad rows with a noisier stand-in translator
    tune: bool = False  # choose TUNE_GRID's settings for each fold on the other folds (needs folds)
    held_out: bool = False  # measure HELD_OUT too, last, with the settings chosen without it
    baselines: bool = True  # False: ours only (the LangChain splitter and BM25 are the bench extra's)


@dataclass(slots=True)
class Shelf:
    """One in-memory collection holding some books for one user, searched like the bot does."""

    books: dict[str, Book]
    index: SearchIndex
    ids: dict[str, int]
    keys: dict[int, str]
    folder: Path
    chunks: int = 0

    async def close(self) -> None:
        await self.index.close()
        await asyncio.to_thread(shutil.rmtree, self.folder, True)

    async def search(
        self, question: Question, per_book: bool, mode: str, translator: QueryTranslator | None = None
    ) -> list[Hit]:
        book_ids = [self.ids[question.book]] if per_book else None
        index: Any = self.index
        if translator is not None:  # the shelf's language: its first book's text
            language = lexical.detect_language(next(iter(self.books.values())).text)
            index = CrossLanguageSearch(self.index, translator, lambda _user, _books: _languages(language))
        return await index.search(
            1,
            question.text,
            book_ids=book_ids,
            k=SEARCH_K,
            mode=mode,  # type: ignore[arg-type]
            budget=BUDGET_CHARS,
        )

    def passages(self, hits: Sequence[Hit]) -> list[Passage]:
        return [Passage(self.keys[h.book_id], h.char_start or 0, h.char_end or 0, h.text) for h in hits]


async def _languages(language: str) -> set[str]:
    return {language}


async def _shelf(name: str, books: dict[str, Book], embedder: CachedEmbedder, options: Options) -> Shelf:
    folder = Path(tempfile.mkdtemp(prefix="librarity-bench-"))
    index = SearchIndex(EdgeFolder(folder), embedder, f"bench-{name}", tuning=options.tuning)
    ids = {key: number for number, key in enumerate(books, start=1)}
    shelf = Shelf(books, index, ids, {v: k for k, v in ids.items()}, folder)
    for key, book in books.items():
        chunks = chunk_sections(book.sections, options.chunking)
        shelf.chunks += await index.index_chunks(1, ids[key], None, chunks, dense=not options.at_ready)
    return shelf


async def run_benchmark(options: Options) -> dict[str, Any]:
    started = time.perf_counter()
    cache_path = options.cache
    if cache_path is not None and options.precision != "auto":  # other vectors: another cache
        cache_path = cache_path.with_name(f"{cache_path.stem}-{options.precision}{cache_path.suffix}")
    embedder = CachedEmbedder(cache_path, precision=options.precision)
    await asyncio.to_thread(embedder.encode, ["warm up"])
    rows: list[dict[str, Any]] = []
    stats: dict[str, Any] = {"chunks": {}, "baseline_chunks": {}}

    shelves: list[tuple[str, dict[str, Book], list[Run]]] = []
    stand_ins: list[StandIn] = []
    if "fairytale" in options.sets:
        found = fairytale_books(options.data / "fairytaleqa", options.books)
        for key in anthologies_to_run(found, options.held_out, options.books):
            book, questions = found[key]
            chosen = _sample(questions, options.limit)
            shelves.append(
                (f"fairytale/{key}", {key: book}, [Run(f"fairytale/{key}", key, chosen, True, "overlap")])
            )
    if "xquad" in options.sets:
        en_books, en_questions = xquad_books(options.data / "xquad", "en")
        ru_books, ru_questions = xquad_books(options.data / "xquad", "ru")
        en_questions, ru_questions = (
            _sample(en_questions, options.limit),
            _sample(ru_questions, options.limit),
        )
        ru_by_id = {q.qid: q for q in ru_questions}
        en_by_id = {q.qid: q for q in en_questions}
        # Cross-language: the question in one language, the gold place in the other's article.
        ru_over_en = [_swap(ru_by_id[q.qid], q) for q in en_questions if q.qid in ru_by_id]
        en_over_ru = [_swap(en_by_id[q.qid], q) for q in ru_questions if q.qid in en_by_id]
        # "With an LLM translator": a local OpenAI-compatible server answering with the parallel
        # question (bot/bench/translator.py), a stand-in for a good translator, not a real model.
        pairs = {q.text: en_by_id[q.qid].text for q in ru_questions if q.qid in en_by_id}
        pairs.update({q.text: ru_by_id[q.qid].text for q in en_questions if q.qid in ru_by_id})
        good = await StandIn.start(pairs)
        stand_ins.append(good)
        # No LLM: the bot's fallback, the word list (services/search/wordlist.py) beside the question.
        words = QueryTranslator(None)
        translated = [
            Run("xquad ru→en one shelf, LLM translator", "en", ru_over_en, False, "contain", good.translator),
            Run("xquad ru→en one shelf, no LLM: word list", "en", ru_over_en, False, "contain", words),
            Run("xquad en→ru one shelf, LLM translator", "ru", en_over_ru, False, "contain", good.translator),
            Run("xquad en→ru one shelf, no LLM: word list", "ru", en_over_ru, False, "contain", words),
        ]
        if options.translator_noise > 0:
            noisy = await StandIn.start(pairs, options.translator_noise)
            stand_ins.append(noisy)
            label = f"noisy translator ({options.translator_noise:.0%} of words left untranslated)"
            translated += [
                Run(f"xquad ru→en one shelf, {label}", "en", ru_over_en, False, "contain", noisy.translator),
                Run(f"xquad en→ru one shelf, {label}", "ru", en_over_ru, False, "contain", noisy.translator),
            ]
        shelves.append(
            ("xquad/en", en_books, [
                Run("xquad/en per article", "en", en_questions, True, "contain"),
                Run("xquad/en one shelf", "en", en_questions, False, "contain"),
                Run("xquad ru→en one shelf", "en", ru_over_en, False, "contain"),
                *[run for run in translated if run.corpus == "en"],
            ])
        )  # fmt: skip
        shelves.append(
            ("xquad/ru", ru_books, [
                Run("xquad/ru per article", "ru", ru_questions, True, "contain"),
                Run("xquad/ru one shelf", "ru", ru_questions, False, "contain"),
                Run("xquad en→ru one shelf", "ru", en_over_ru, False, "contain"),
                *[run for run in translated if run.corpus == "ru"],
            ])
        )  # fmt: skip

    totals: dict[str, dict[str, Score]] = {}
    per_anthology: dict[str, dict[str, Score]] = {}
    grid: dict[str, dict[str, Score]] = {}  # --tune: setting's label -> anthology's run -> hybrid score
    tuned: dict[str, Any] = {}
    for name, books, runs in shelves:
        if options.tune and name == f"fairytale/{HELD_OUT}" and not tuned:
            tuned = cross_validate(grid, options.folds, _default_label(options.tuning))
        t0 = time.perf_counter()
        # All questions' vectors in one batch: the searches then find them cached.
        await asyncio.to_thread(embedder.encode, [q.text for run in runs for q in run.questions])
        shelf = await _shelf(name.replace("/", "-"), books, embedder, options)
        baselines = await asyncio.to_thread(Baselines, books, embedder) if options.baselines else None
        stats["chunks"][name] = shelf.chunks
        stats["baseline_chunks"][name] = len(baselines.passages) if baselines else 0
        for run in runs:
            if options.tune and run.name == f"fairytale/{HELD_OUT}" and tuned.get("chosen"):
                shelf.index.tuning = replace(options.tuning, **TUNE_GRID[tuned["chosen_index"]])
            scores = await _evaluate(run, shelf, baselines, options)
            shelf.index.tuning = options.tuning
            if options.tune and run.name.startswith("fairytale/") and run.name != f"fairytale/{HELD_OUT}":
                for index, changes in enumerate(TUNE_GRID):
                    shelf.index.tuning = replace(options.tuning, **changes)
                    grid.setdefault(_label(index), {})[run.name] = await _hybrid_score(run, shelf)
                shelf.index.tuning = options.tuning
            rows.append({"run": run.name, **{system: s.as_dict() for system, s in scores.items()}})
            if run.name == f"fairytale/{HELD_OUT}":
                tuned["held_out"] = rows[-1]
                continue  # never in the folds' or the tuning anthologies' totals
            per_anthology[run.name] = scores
            if run.name.startswith("fairytale/"):
                for system, score in scores.items():
                    _merge(totals.setdefault("fairytale", {}).setdefault(system, Score()), score)
        await shelf.close()
        logger.info("%s: %.1fs", name, time.perf_counter() - t0)
    anthologies = sum(1 for name in per_anthology if name.startswith("fairytale/"))
    for name, scores in totals.items():
        label = f"{name} (all {anthologies} anthologies, every question counted once)"
        rows.insert(0, {"run": label, **{system: s.as_dict() for system, s in scores.items()}})
    folds = _fold_rows(per_anthology, options.folds) if options.folds else []
    if options.tune and "chosen" not in tuned:
        tuned.update(cross_validate(grid, options.folds, _default_label(options.tuning)))
    embedder.save()
    for stand_in in stand_ins:
        await stand_in.close()
    result = {
        "folds": folds,
        "tune": tuned,
        "held_out_anthology": HELD_OUT,
        "benchmark": "retrieval",
        "model": LOCAL_MODEL,
        "budget_chars": BUDGET_CHARS,
        "chunking": asdict(options.chunking),
        "tuning": asdict(options.tuning),
        "limit": options.limit,
        "seconds": round(time.perf_counter() - started, 1),
        "embedded_texts": embedder.computed,
        "rows": rows,
        **stats,
    }
    return result


def _fold_rows(per_anthology: dict[str, dict[str, Score]], k: int) -> list[dict[str, Any]]:
    """Each fold's figures, the fold's anthologies never used to choose the settings measured.

    Settings are the ones given on the command line (no per-fold search is done here), so every fold is
    held out; the mean over folds is the headline."""
    names = [n for n in per_anthology if n.startswith("fairytale/")]
    if len(names) < k:
        return []
    rows: list[dict[str, Any]] = []
    for i, fold in enumerate(fold_split(names, k)):
        total: dict[str, Score] = {}
        for name in fold:
            for system, score in per_anthology[name].items():
                _merge(total.setdefault(system, Score()), score)
        rows.append({"fold": i, "anthologies": fold, **{s: v.as_dict() for s, v in total.items()}})
    return rows


async def _evaluate(
    run: Run, shelf: Shelf, baselines: Baselines | None, options: Options
) -> dict[str, Score]:
    scores = {mode: Score() for mode in options.modes}
    if baselines is not None:
        scores["dense baseline"] = Score()
        scores["bm25 baseline"] = Score()
    for question in run.questions:
        for mode in options.modes:
            started = time.perf_counter()
            hits = await shelf.search(question, run.per_book, mode, run.translator)
            scores[mode].seconds.append(time.perf_counter() - started)
            ranked = shelf.passages(hits)
            scores[mode].add(ranked, question, run.rule)
            if mode == "hybrid" and options.extractive and question.explicit:
                kept = {id(p) for p in within_budget(ranked)}
                context = [h for h, p in zip(hits, ranked, strict=True) if id(p) in kept]
                reply = extractive_answer(question.text, context, EXTRACT_CHARS).text
                scores[mode].explicit += 1
                scores[mode].found_in_reply += answer_found(reply, question.answers)
        if baselines is None:
            continue
        for system, ranked in (
            ("dense baseline", baselines.dense(question, run.per_book)),
            ("bm25 baseline", baselines.bm25(question, run.per_book)),
        ):
            scores[system].add(ranked, question, run.rule)
            if options.extractive and question.explicit and ranked:
                scores[system].explicit += 1
                scores[system].found_in_reply += answer_found(
                    ranked[0].text[:EXTRACT_CHARS], question.answers
                )
    return scores


def anthologies_to_run(names: Iterable[str], held_out: bool, books: Sequence[str] | None) -> list[str]:
    """The anthologies a run searches, in order: HELD_OUT only when asked for (--held-out, or named in
    --books), and then last, so that whatever a run chooses is chosen before it is searched."""
    wanted = held_out or bool(books and HELD_OUT in books)
    return sorted((n for n in names if n != HELD_OUT or wanted), key=lambda n: (n == HELD_OUT, n))


async def _hybrid_score(run: Run, shelf: Shelf) -> Score:
    score = Score()
    for question in run.questions:
        score.add(shelf.passages(await shelf.search(question, run.per_book, "hybrid")), question, run.rule)
    return score


def _default_label(tuning: SearchTuning) -> str | None:
    """The grid's label of the settings given (None when the grid has no such entry)."""
    for index, changes in enumerate(TUNE_GRID):
        if all(getattr(tuning, key) == value for key, value in changes.items()):
            return _label(index)
    return None


def _label(index: int) -> str:
    return ", ".join(f"{key} {value}" for key, value in TUNE_GRID[index].items())


def objective(score: Score) -> float:
    """What `--tune` maximises: recall@5 + MRR@10 over the questions (both goals count alike)."""
    return (score.r5 + score.mrr) / max(score.n, 1)


TUNE_MARGIN = 0.005  # a setting replaces the default only when it beats it by this much (recall@5 + MRR@10)


def cross_validate(
    grid: dict[str, dict[str, Score]], k: int, default: str | None = None, margin: float = TUNE_MARGIN
) -> dict[str, Any]:
    """For each fold of anthologies: the setting that scores best on the other folds, measured on it.
    The `default` setting stays unless another beats it there by more than `margin` (a difference
    smaller than that is noise on a few hundred questions, not something that generalises).

    `grid`: setting's label -> anthology's run name -> its score with that setting. The headline is the
    mean over folds of the measured figures (each fold's figures from a choice made without it); the
    setting chosen on all of them is the one to use (and to measure the untouched anthology with)."""
    labels = list(grid)
    if not labels:
        return {}
    names = sorted(grid[labels[0]])
    if len(names) < max(k, 2):
        return {}

    def pooled(label: str, chosen: Sequence[str]) -> Score:
        total = Score()
        for name in chosen:
            _merge(total, grid[label][name])
        return total

    def best(chosen: Sequence[str]) -> str:  # ties: the earlier setting in the grid
        top = max(
            labels, key=lambda label: (round(objective(pooled(label, chosen)), 9), -labels.index(label))
        )
        if default in grid and objective(pooled(top, chosen)) - objective(pooled(default, chosen)) <= margin:
            return default
        return top

    rows: list[dict[str, Any]] = []
    for i, fold in enumerate(fold_split(names, k)):
        rest = [n for n in names if n not in fold]
        label = best(rest)
        rows.append(
            {
                "fold": i,
                "anthologies": fold,
                "chosen": label,
                "chosen_on_others": objective(pooled(label, rest)),
                "hybrid": pooled(label, fold).as_dict(),
            }
        )
    mean = {key: round(sum(r["hybrid"][key] for r in rows) / len(rows), 4) for key in ("recall@5", "mrr@10")}
    chosen = best(names)
    return {
        "default": default,
        "margin": margin,
        "grid": labels,
        "folds": rows,
        "mean": mean,
        "chosen": chosen,
        "chosen_index": labels.index(chosen),
        "on_all": {label: pooled(label, names).as_dict() for label in labels},
    }


def fold_split(names: Sequence[str], k: int) -> list[list[str]]:
    """Anthologies split into k folds, deterministic: sorted by name, dealt round-robin."""
    if k < 2:
        raise ValueError("folds need k >= 2")
    ordered = sorted(names)
    if k > len(ordered):
        raise ValueError(f"{k} folds for {len(ordered)} anthologies")
    return [ordered[i::k] for i in range(k)]


def _merge(total: Score, part: Score) -> None:
    for name in ("n", "r1", "r5", "r10", "mrr", "passages", "found_in_reply", "explicit", "seconds"):
        setattr(total, name, getattr(total, name) + getattr(part, name))


def _sample(questions: list[Question], limit: int | None) -> list[Question]:
    if not limit or len(questions) <= limit:
        return questions
    step = len(questions) / limit  # evenly spread, the same every run
    return [questions[int(i * step)] for i in range(limit)]


def _swap(asked: Question, gold: Question) -> Question:
    return Question(gold.qid, asked.text, gold.book, gold.spans, gold.answers, gold.explicit)


# --- output --------------------------------------------------------------------------------------------------


def markdown_table(result: dict[str, Any], modes: Sequence[str]) -> str:
    measured = ("dense baseline", "bm25 baseline")
    systems = [*modes, *(s for s in measured if all(s in row for row in result["rows"]))]
    head = ["run", "n"]
    for system in systems:
        label = "ours" if system == "hybrid" else system.replace(" baseline", "")
        head += [f"{label} R@1", f"{label} R@5", f"{label} R@10", f"{label} MRR@10"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in result["rows"]:
        cells = [row["run"], str(row[systems[0]]["n"])]
        for system in systems:
            s = row[system]
            cells += [
                f"{s['recall@1']:.2f}",
                f"{s['recall@5']:.2f}",
                f"{s['recall@10']:.2f}",
                f"{s['mrr@10']:.2f}",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    if "hybrid" in modes and any("answer_in_reply" in row["hybrid"] for row in result["rows"]):
        lines += [
            "",
            "Extractive answers (explicit questions): gold answer within the reply of <= 600 characters",
            "",
            "| run | explicit | ours: extractive reply | dense: top passage[:600] | bm25: top passage[:600] |",
            "|---|---|---|---|---|",
        ]
        for row in result["rows"]:
            if "answer_in_reply" in row["hybrid"]:
                lines.append(
                    f"| {row['run']} | {row['hybrid']['explicit']} | {row['hybrid']['answer_in_reply']:.2f} | "
                    f"{row.get('dense baseline', {}).get('answer_in_reply', 0):.2f} | "
                    f"{row.get('bm25 baseline', {}).get('answer_in_reply', 0):.2f} |"
                )
    timed = [row for row in result["rows"] if modes and "search_ms_p50" in row[modes[0]]]
    if timed:
        lines += [
            "",
            f"Search latency ({modes[0]}, Qdrant Edge, query embedding cached by the run)",
            "",
            "| run | p50 ms | p95 ms |",
            "|---|---|---|",
        ]
        lines += [
            f"| {r['run']} | {r[modes[0]]['search_ms_p50']} | {r[modes[0]]['search_ms_p95']} |" for r in timed
        ]
    return "\n".join(lines)


def write_result(result: dict[str, Any], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"retrieval-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def add_arguments(parser: Any) -> None:
    parser.add_argument("--data", type=Path, default=None, help="the qa folder (default ../shared/data/qa)")
    parser.add_argument("--sets", default="fairytale,xquad", help="fairytale,xquad")
    parser.add_argument("--books", default=None, help="fairytale anthologies to use, comma-separated")
    parser.add_argument(
        "--limit", type=int, default=None, help="questions per anthology / per xquad language"
    )
    parser.add_argument("--modes", default="hybrid", help=f"our search modes to measure: {','.join(MODES)}")
    parser.add_argument("--chunk-chars", type=int, default=None, help="chunking target size")
    parser.add_argument("--overlap", type=int, default=None, help="sentences repeated between chunks")
    parser.add_argument("--prefetch", type=int, default=None, help="candidates per retriever before fusion")
    parser.add_argument("--fusion", default=None, help="weighted | rrf | dbsf")
    parser.add_argument("--dense-weight", type=float, default=None, help="weighted fusion: dense share (en)")
    parser.add_argument(
        "--dense-weight-ru", type=float, default=None, help="weighted fusion: dense share (ru)"
    )
    parser.add_argument("--proximity", type=float, default=None, help="weight of the proximity re-rank")
    parser.add_argument("--window-chars", type=int, default=None, help="size of the dense windows")
    parser.add_argument(
        "--merge-chars", type=int, default=None, help="join neighbouring hits up to this size"
    )
    parser.add_argument(
        "--context-chars", type=int, default=None, help="widen shorter passages to this size (0: no)"
    )
    parser.add_argument(
        "--first-context-chars", type=int, default=None, help="widen the best passage to this size"
    )
    parser.add_argument("--story", type=float, default=None, help="weight of the same-chapter vote")
    parser.add_argument(
        "--expansion", type=float, default=None, help="weight of the query expansion from the book (0: off)"
    )
    parser.add_argument("--joined-bonus", type=float, default=None, help="a joined passage's extra parts")
    parser.add_argument("--no-extractive", action="store_true")
    parser.add_argument(
        "--at-ready",
        action="store_true",
        help="search our index as it is when a book turns ready: words only, dense vectors still coming",
    )
    parser.add_argument("--no-cache", action="store_true", help="embed everything again")
    parser.add_argument("--folds", type=int, default=0, help="split anthologies into K held-out folds")
    parser.add_argument(
        "--translator-noise",
        type=float,
        default=0.0,
        help="also xquad rows with a noisier stand-in translator (share of words left untranslated)",
    )
    parser.add_argument(
        "--tune",
        action="store_true",
        help="with --folds: choose the search settings for each fold on the other folds, report the mean",
    )
    parser.add_argument(
        "--held-out",
        action="store_true",
        help=f"also measure {HELD_OUT}, never tuned on, last (with --tune: with the settings chosen)",
    )
    parser.add_argument("--out", type=Path, default=Path("bench-results"))


def options_from(args: Any, default_data: Path) -> Options:
    chunking = ChunkingOptions()
    if args.chunk_chars:
        chunking = ChunkingOptions(
            target_chars=args.chunk_chars,
            max_chars=max(chunking.max_chars, int(args.chunk_chars * 1.5)),
            min_chars=chunking.min_chars,
            overlap_sentences=chunking.overlap_sentences,
        )
    if args.overlap is not None:
        chunking = ChunkingOptions(
            chunking.target_chars, chunking.max_chars, chunking.min_chars, args.overlap
        )
    changes = {
        "prefetch": args.prefetch,
        "fusion": args.fusion,
        "dense_weight": args.dense_weight,
        "dense_weight_ru": args.dense_weight_ru,
        "proximity": args.proximity,
        "window_chars": args.window_chars,
        "merge_chars": args.merge_chars,
        "context_chars": args.context_chars,
        "first_context_chars": args.first_context_chars,
        "story": args.story,
        "joined_bonus": args.joined_bonus,
        "expansion": getattr(args, "expansion", None),
    }
    tuning = replace(SearchTuning(), **{key: value for key, value in changes.items() if value is not None})
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if "hybrid" in modes:
        modes.remove("hybrid")
        modes.insert(0, "hybrid")
    return Options(
        data=args.data or default_data,
        sets=[s.strip() for s in args.sets.split(",") if s.strip()],
        books=[b.strip() for b in args.books.split(",")] if args.books else None,
        limit=args.limit,
        modes=modes,
        chunking=chunking,
        tuning=tuning,
        extractive=not args.no_extractive,
        at_ready=args.at_ready,
        cache=None if args.no_cache else args.out / ".cache" / "embeddings-minilm.npz",
        out=args.out,
        folds=getattr(args, "folds", 0) or 0,
        translator_noise=float(getattr(args, "translator_noise", 0.0) or 0.0),
        tune=bool(getattr(args, "tune", False)),
        held_out=bool(getattr(args, "held_out", False)),
    )


async def run(args: Any, settings: Any) -> int:
    """The `bench retrieval` entry point (bot/cli/bench.py dispatches here)."""
    options = replace(options_from(args, DEFAULT_DATA), precision=settings.embeddings_precision)
    result = await run_benchmark(options)
    path = write_result(result, options.out)
    print(markdown_table(result, options.modes))
    held_out = result.get("folds") or []
    for row in held_out:
        print(f"fold {row['fold']} ({', '.join(row['anthologies'])}): {row.get('hybrid')}")
    if held_out and all("hybrid" in r for r in held_out):
        for key in ("recall@5", "mrr@10"):
            values = [r["hybrid"].get(key) for r in held_out if r["hybrid"].get(key) is not None]
            if values:
                print(f"held-out mean {key}: {sum(values) / len(values):.3f}")
    tuned = result.get("tune") or {}
    for row in tuned.get("folds", []):
        print(
            f"tuned fold {row['fold']} ({', '.join(row['anthologies'])}): chosen on the others: "
            f"{row['chosen']}; measured: recall@5 {row['hybrid']['recall@5']:.3f}, "
            f"mrr@10 {row['hybrid']['mrr@10']:.3f}"
        )
    if tuned.get("mean"):
        print(
            f"cross-validated mean over folds: recall@5 {tuned['mean']['recall@5']:.3f}, "
            f"mrr@10 {tuned['mean']['mrr@10']:.3f}; chosen on all folds: {tuned['chosen']}"
        )
    if tuned.get("held_out"):
        held = tuned["held_out"]["hybrid"]
        print(
            f"untouched anthology {HELD_OUT} (n {held['n']}): recall@5 {held['recall@5']:.3f}, "
            f"mrr@10 {held['mrr@10']:.3f}"
        )
    print(f"\n{result['seconds']}s; {result['embedded_texts']} texts embedded; results in {path}")
    return 0
