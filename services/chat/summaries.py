"""Book and chapter summaries: short and long summary, key topics and notable quotes, computed once.

- With an LLM: map-reduce. The chunks are packed into windows of about `window_chars`; each window is
  summarised (map), the partial summaries are combined `fan_in` at a time until one call can write the
  final short summary, long summary and topics (reduce). Quotes the model picks are kept only when they
  are in the book verbatim. Because a whole-book run costs real money, `estimate` tells the calls and
  tokens first and the handler asks the user to confirm.
- Offline: extractive. Sentences are scored by closeness to the centroid of the book's TF-IDF vector
  (stems), picked with a redundancy penalty and shown in reading order; topics are the book's
  distinctive words — TF-IDF over its chunks (a word in every chunk says little) without the words any
  story uses (speech verbs, titles, "one", "thing"; English and Russian) — in their most frequent
  written form; notable quotes are well-scored, quotable-length sentences.

Either way the result is stored in `book_summaries` and served from there next time.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import re
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.models import Book, BookSummary, Chunk
from db.repositories import books as books_repo
from services.chat import charging, prompting
from services.chat.quotes import is_verbatim
from services.chat.types import AnswerCharges, Hold
from services.llm import (
    AllProvidersFailed,
    ChatMessage,
    LLMRequest,
    LLMRouter,
    LLMUsage,
    PriceTable,
    ProviderError,
)
from services.search import lexical
from services.search.sentences import reflow, sentence_spans, text_sentence_spans

logger = logging.getLogger(__name__)

Method = Literal["llm", "extractive"]
BOOK_SCOPE = "book"

WINDOW_CHARS = 12_000
FAN_IN = 8
MAP_OUTPUT_TOKENS = 350
COMBINE_OUTPUT_TOKENS = 600
FINAL_OUTPUT_TOKENS = 1200
PROMPT_OVERHEAD_TOKENS = 200
# The offline summary looks at this many sentences at most, spread evenly over the book.
MAX_SENTENCES = 6000
TOPICS = 8
# Words any story uses often, so never a key topic (beyond the search's stop words): speech verbs,
# titles, common verbs, nouns and adverbs, a play's stage words and its old spellings.
TOPIC_STOP_WORDS = """
    said say says saying replied answered asked ask cried exclaimed added continued returned went go goes
    going gone came come comes coming get got make made know knew known think thought see saw seen look
    looked like one two three much many well good great little thing things man men woman time times way
    yet still even never ever always quite rather shall must may might every nothing something anything
    everything mr mrs miss sir madam dear upon though without long first last old new now another day take
    took give gave tell told let put seem seemed felt feel also back away again indeed perhaps almost enough
    however whether among around could would should cannot yes oh ah hand hands head face eyes want wanted
    enter exit exeunt hath doth haue vpon doe hast shalt wilt thee thou thy thine art tis ile selfe vs
    сказал сказала сказали сказать говорил говорила говорит отвечал отвечала ответил ответила спросил
    спросила думал думала знал знала хотел хотела стал стала стали который которая которое которые свой
    своя свое свои наш наши ваш мой твой один одна одно два три другой другая другие такой такая такое
    тебе себе весь вся всё очень теперь казалось было будет мог могла может можно нет вот ещё сам сама
    самый время раз день дело человек люди хотя однако лишь уже тоже также именно тот та те рука руки руку
    лицо глаза голову
""".split()
_TOPIC_STOP_STEMS = frozenset(stem for word in TOPIC_STOP_WORDS for stem in lexical.stems(word))


@dataclass(frozen=True, slots=True)
class Chapter:
    """One chapter: a run of consecutive chunks with the same chapter title. A title a book uses more than
    once ("CHAPTER I" of each volume) is told apart by its `label`: "VOLUME II, CHAPTER I" where the text
    names the volume, else "CHAPTER I (2)"."""

    key: str
    title: str  # as the chunks carry it
    first_seq: int
    chunks: int
    last_seq: int
    label: str  # what the reader is shown

    def holds(self, chunk: Chunk) -> bool:
        return chunk.chapter == self.title and self.first_seq <= chunk.seq <= self.last_seq


@dataclass(frozen=True, slots=True)
class Quote:
    text: str
    chunk_id: int
    page: int | None
    chapter: str | None
    percent: float | None = None  # where in the book (0-100); None in summaries stored before it was kept


@dataclass(frozen=True, slots=True)
class Summary:
    book_id: int
    scope: str
    chapter: str | None
    method: Method
    short: str
    long: str
    topics: list[str]
    quotes: list[Quote]
    provider: str | None = None
    llm_calls: int = 0
    usage: list[LLMUsage] = field(default_factory=list)
    stored: bool = False  # served from the table, computed earlier


# Runs with (session, user_id, summary) just before a computed summary is committed: billing charges a
# whole-book summary here, so the charge and what it paid for are recorded together.
SummaryHook = Callable[[AsyncSession, int, Summary], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class SummaryEstimate:
    """What a whole-book (or chapter) LLM run will take, before running it."""

    chunks: int
    chars: int
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float


def chapter_key(title: str) -> str:
    return hashlib.sha1(title.encode("utf-8")).hexdigest()[:10]


# A heading that names a part of the book: above a chapter ("VOLUME II"), or in its title ("Actus
# Secundus. Scena Prima.").
_PART_HEADING = re.compile(r"^(?:volume|vol\.|book|part|act|actus|том|книга|часть|действие)\b", re.IGNORECASE)
PART_HEADING_CHARS = 60


async def book_chapters(session: AsyncSession, book_id: int) -> list[Chapter]:
    """The book's chapters in reading order (chunks without a chapter are left out)."""
    rows = await session.execute(
        select(Chunk.seq, Chunk.chapter)
        .where(Chunk.book_id == book_id, Chunk.chapter.is_not(None))
        .order_by(Chunk.seq)
    )
    runs: list[list[Any]] = []  # [title, first seq, last seq, chunks]
    for seq, title in rows:
        if not title:
            continue
        if runs and runs[-1][0] == title:
            runs[-1][2] = seq
            runs[-1][3] += 1
        else:
            runs.append([title, seq, seq, 1])
    repeated = {title for title, times in Counter(run[0] for run in runs).items() if times > 1}
    parts = await _parts(session, book_id, runs) if repeated else {}
    seen: Counter[str] = Counter()
    chapters: list[Chapter] = []
    for title, first, last, count in runs:
        seen[title] += 1
        if title in repeated:
            key = chapter_key(f"{title}\n{seen[title]}")
            label = f"{parts[first]}, {title}" if parts.get(first) else f"{title} ({seen[title]})"
        else:
            key, label = chapter_key(title), title
        chapters.append(Chapter(key, title, first, count, last, label))
    return chapters


async def _parts(session: AsyncSession, book_id: int, runs: Sequence[Sequence[Any]]) -> dict[int, str]:
    """First seq of each chapter -> the part it is in ("VOLUME II"), from the part headings that open
    the text of a part's first chapter, or from a chapter title that names its part ("Actus Secundus")."""
    rows = await session.execute(
        select(Chunk.seq, func.substr(Chunk.text, 1, 400)).where(
            Chunk.book_id == book_id, Chunk.seq.in_([run[1] for run in runs])
        )
    )
    heads: dict[int, str] = {int(seq): head or "" for seq, head in rows}
    parts: dict[int, str] = {}
    current: str | None = None
    for title, first, *_ in runs:
        if _PART_HEADING.match(title):
            current = title.split(". ", 1)[0].rstrip(".")
        paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", heads.get(first, ""))]
        if title in paragraphs:
            above = paragraphs[: paragraphs.index(title)]
            current = next(
                (p for p in reversed(above) if len(p) <= PART_HEADING_CHARS and _PART_HEADING.match(p)),
                current,
            )
        if current:
            parts[first] = current
    return parts


def scope_of(key: str | None) -> str:
    return BOOK_SCOPE if key is None else f"chapter:{key}"


def _limited_scope(scope: str, limit: float | None) -> str:
    """The scope of a summary of the part read (spoiler-safe reading: "book|read<40"), stored apart."""
    return scope if limit is None else f"{scope}|read<{limit:g}"


class SummaryService:
    def __init__(
        self,
        router: LLMRouter | None,
        *,
        prices: PriceTable | None = None,
        window_chars: int = WINDOW_CHARS,
        fan_in: int = FAN_IN,
        concurrency: int = 3,
    ) -> None:
        self.router = router
        self.prices = prices or PriceTable()
        self.window_chars = window_chars
        self.fan_in = max(2, fan_in)
        self.concurrency = concurrency
        self.before_store: list[SummaryHook] = []
        # Billing's holds and charges for chapter summaries, as for answers (installed by billing; None: free).
        self.charges: AnswerCharges | None = None

    @property
    def has_llm(self) -> bool:
        return self.router is not None

    # --- reading -----------------------------------------------------------------------------------

    async def chapters(self, session: AsyncSession, book_id: int) -> list[Chapter]:
        """The book's chapters, up to where the reader has read when they set it (spoiler-safe)."""
        chapters = await book_chapters(session, book_id)
        limit = await books_repo.reading_limit(session, book_id)
        if limit is None or not chapters:
            return chapters
        started = set(
            await session.scalars(
                select(Chunk.seq).where(
                    Chunk.book_id == book_id,
                    Chunk.seq.in_([c.first_seq for c in chapters]),
                    books_repo.before_limit(limit),
                )
            )
        )
        return [c for c in chapters if c.first_seq in started]

    async def stored(self, session: AsyncSession, book_id: int, chapter: str | None = None) -> Summary | None:
        """The summary computed earlier for the book (or chapter key), the LLM one first; of the part read
        when the reader has set how far they have got."""
        scope = _limited_scope(scope_of(chapter), await books_repo.reading_limit(session, book_id))
        rows = (
            await session.scalars(
                select(BookSummary)
                .join(Book, Book.id == BookSummary.book_id)
                # A summary older than the book belongs to a deleted book that had its id (SQLite).
                .where(
                    BookSummary.book_id == book_id,
                    BookSummary.scope == scope,
                    BookSummary.created_at >= Book.created_at,
                )
            )
        ).all()
        if not rows:
            return None
        row = min(rows, key=lambda r: 0 if r.method == "llm" else 1)
        return Summary(
            book_id=row.book_id,
            scope=row.scope,
            chapter=row.chapter,
            method=row.method,  # type: ignore[arg-type]
            short=row.short,
            long=row.long,
            topics=list(row.topics),
            quotes=[
                Quote(q["text"], q["chunk_id"], q.get("page"), q.get("chapter"), q.get("percent"))
                for q in row.quotes
            ],
            provider=row.provider,
            llm_calls=row.llm_calls,
            stored=True,
        )

    async def estimate(
        self, session: AsyncSession, book_id: int, chapter: str | None = None
    ) -> SummaryEstimate:
        chunks, _ = await self._chunks(
            session, book_id, chapter, await books_repo.reading_limit(session, book_id)
        )
        return self._estimate(chunks)

    def _estimate(self, chunks: Sequence[Chunk]) -> SummaryEstimate:
        sizes = [len(c.text) for c in chunks]
        windows = len(self._windows(sizes))
        calls, input_chars, output_tokens = windows, sum(sizes), windows * MAP_OUTPUT_TOKENS
        parts = windows
        while parts > self.fan_in:
            groups = math.ceil(parts / self.fan_in)
            calls += groups
            output_tokens += groups * COMBINE_OUTPUT_TOKENS
            parts = groups
        calls += 1
        output_tokens += FINAL_OUTPUT_TOKENS
        # Every reduce reads the outputs of the step before it.
        input_tokens = (
            lexical_tokens(input_chars) + calls * PROMPT_OVERHEAD_TOKENS + output_tokens - FINAL_OUTPUT_TOKENS
        )
        cost = self.prices.cost(self._model(), input_tokens, output_tokens) if self.router else 0.0
        return SummaryEstimate(len(chunks), input_chars, calls, input_tokens, output_tokens, cost)

    # --- computing ---------------------------------------------------------------------------------

    async def summarise(
        self,
        session: AsyncSession,
        *,
        user_id: int,
        book_id: int,
        chapter: str | None = None,
        method: Method | None = None,
    ) -> Summary | None:
        """Compute, store and return the summary (LLM when there is one, unless `method` says otherwise).

        Falls back to the extractive summary when every provider fails. None when there is no text.
        An LLM chapter summary is charged like an answer: what it may cost is held first (ChargeRefused
        when the balance or plan says no) and settled to its usage as it is stored; the extractive one is
        free. (A whole-book summary is charged its set price by billing's `before_store` hook.)"""
        limit = await books_repo.reading_limit(session, book_id)
        scope = _limited_scope(scope_of(chapter), limit)
        chunks, found = await self._chunks(session, book_id, chapter, limit)
        use_llm = (method or ("llm" if self.router else "extractive")) == "llm" and self.router is not None
        held = None
        if use_llm and chapter is not None and chunks:
            estimate = self._estimate(chunks)
            held = await charging.hold(
                self.charges, session, user_id, input_tokens=estimate.input_tokens,
                output_tokens=estimate.output_tokens,
            )  # fmt: skip
        await session.commit()  # no connection is held while the model writes
        if not chunks:
            return None
        title = found.label if found is not None else None
        summary: Summary | None = None
        try:
            if use_llm:
                try:
                    summary = await self._llm_summary(chunks, user_id, book_id, scope, title)
                except (AllProvidersFailed, ProviderError) as error:
                    logger.warning(
                        "LLM summary of book %s failed, summarising extractively: %s", book_id, error
                    )
            if summary is None:
                summary = extractive_summary(chunks, book_id=book_id, scope=scope, chapter=title)
            await self._store(session, summary, user_id, held)
        except BaseException:
            await charging.release(self.charges, session, user_id, held)
            raise
        return summary

    async def _llm_summary(
        self, chunks: Sequence[Chunk], user_id: int, book_id: int, scope: str, title: str | None
    ) -> Summary:
        assert self.router is not None
        router = self.router
        usage: list[LLMUsage] = []
        tags: dict[str, str | int] = {"user_id": user_id, "book_id": book_id, "purpose": "summary"}
        windows = self._windows([len(c.text) for c in chunks])
        semaphore = asyncio.Semaphore(self.concurrency)

        async def ask(messages: list[ChatMessage], max_tokens: int) -> str:
            async with semaphore:
                result = await router.generate(
                    LLMRequest(messages, max_tokens=max_tokens, temperature=0.2, tags=tags)
                )
            usage.append(result.usage)
            return result.text

        texts = ["\n\n".join(c.text for c in chunks[a:b]) for a, b in windows]
        mapped = await asyncio.gather(
            *(ask(prompting.summary_map_messages(t), MAP_OUTPUT_TOKENS) for t in texts)
        )
        parts: list[str] = []
        quotes: list[Quote] = []
        topics: Counter[str] = Counter()
        for (start, end), reply in zip(windows, mapped, strict=True):
            parts.append(_before_labels(reply))
            topics.update(_topics(prompting.labelled(reply, "TOPICS")))
            quote = (prompting.labelled(reply, "QUOTE") or "").strip().strip('«»"“”„ ')
            if quote and len(quote.split()) >= 4:
                source = next((c for c in chunks[start:end] if is_verbatim(quote, [c.text])), None)
                if source is not None:
                    quotes.append(Quote(quote, source.seq, source.page, source.chapter, source.percent))
        while len(parts) > self.fan_in:
            groups = [parts[i : i + self.fan_in] for i in range(0, len(parts), self.fan_in)]
            combined = await asyncio.gather(
                *(
                    ask(prompting.summary_reduce_messages(g, final=False), COMBINE_OUTPUT_TOKENS)
                    for g in groups
                )
            )
            parts = [_before_labels(reply) for reply in combined]
        final = await ask(prompting.summary_reduce_messages(parts, final=True), FINAL_OUTPUT_TOKENS)
        short = prompting.labelled(final, "SHORT") or _first_sentences(final, 3)
        long = prompting.labelled(final, "LONG") or final.strip()
        final_topics = _topics(prompting.labelled(final, "TOPICS")) or [t for t, _ in topics.most_common(8)]
        if len(quotes) < 3:
            offline = extractive_summary(chunks, book_id=book_id, scope=scope, chapter=title)
            quotes.extend(q for q in offline.quotes if q not in quotes)
        return Summary(
            book_id=book_id,
            scope=scope,
            chapter=title,
            method="llm",
            short=short,
            long=long,
            topics=final_topics[:8],
            quotes=_spread(quotes, 5),
            provider=usage[-1].provider if usage else None,
            llm_calls=len(usage),
            usage=usage,
        )

    # --- plumbing ----------------------------------------------------------------------------------

    def _windows(self, sizes: Sequence[int]) -> list[tuple[int, int]]:
        """Consecutive chunk ranges of about `window_chars` each."""
        windows: list[tuple[int, int]] = []
        start, total = 0, 0
        for index, size in enumerate(sizes):
            if index > start and total + size > self.window_chars:
                windows.append((start, index))
                start, total = index, 0
            total += size
        if start < len(sizes):
            windows.append((start, len(sizes)))
        return windows

    def _model(self) -> str:
        assert self.router is not None
        return str(getattr(self.router.providers[0], "model", ""))

    async def _chunks(
        self, session: AsyncSession, book_id: int, chapter: str | None, limit: float | None
    ) -> tuple[list[Chunk], Chapter | None]:
        """The chunks of the book, or of the chapter with key `chapter` (none for an unknown key), before
        the reader's `limit` when there is one."""
        query = select(Chunk).where(Chunk.book_id == book_id, books_repo.before_limit(limit))
        found = None
        if chapter is not None:
            found = next((c for c in await self.chapters(session, book_id) if c.key == chapter), None)
            if found is None:
                return [], None
            query = query.where(
                Chunk.chapter == found.title, Chunk.seq.between(found.first_seq, found.last_seq)
            )
        return list((await session.scalars(query.order_by(Chunk.seq))).all()), found

    async def _store(self, session: AsyncSession, summary: Summary, user_id: int, held: Hold | None) -> None:
        existing = await session.scalar(
            select(BookSummary).where(
                BookSummary.book_id == summary.book_id,
                BookSummary.scope == summary.scope,
                BookSummary.method == summary.method,
            )
        )
        values = {
            "chapter": summary.chapter,
            "short": summary.short,
            "long": summary.long,
            "topics": summary.topics,
            "quotes": [
                {
                    "text": q.text,
                    "chunk_id": q.chunk_id,
                    "page": q.page,
                    "chapter": q.chapter,
                    "percent": q.percent,
                }
                for q in summary.quotes
            ],
            "provider": summary.provider,
            "llm_calls": summary.llm_calls,
            "created_at": utcnow(),
        }
        if existing is not None:
            for name, value in values.items():
                setattr(existing, name, value)
        else:
            try:
                async with session.begin_nested():
                    session.add(
                        BookSummary(
                            book_id=summary.book_id,
                            user_id=user_id,
                            scope=summary.scope,
                            method=summary.method,
                            **values,
                        )
                    )
            except IntegrityError:
                pass  # computed twice at once; either copy will do
        for hook in self.before_store:
            await hook(session, user_id, summary)
        await charging.settle(
            self.charges, session, user_id, held, summary if summary.method == "llm" else None
        )
        await session.commit()


def lexical_tokens(chars: int) -> int:
    return math.ceil(chars / 4)


# --- extractive ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Sentence:
    text: str
    chunk: Chunk
    start: int  # where in the chunk's text
    order: int
    stems: Counter[str]

    @property
    def shown(self) -> str:
        """The sentence laid out for reading (the book's wrapped lines joined)."""
        return reflow(self.chunk.text, self.start, self.start + len(self.text))


def extractive_summary(
    chunks: Sequence[Chunk], *, book_id: int, scope: str = BOOK_SCOPE, chapter: str | None = None
) -> Summary:
    sentences = _sentences(chunks)
    if not sentences:
        return Summary(book_id, scope, chapter, "extractive", "", "", [], [])
    document_frequency: Counter[str] = Counter()
    for sentence in sentences:
        document_frequency.update(set(sentence.stems))
    count = len(sentences)
    idf = {stem: math.log(1 + count / df) for stem, df in document_frequency.items()}
    vectors = [{s: tf * idf[s] for s, tf in sentence.stems.items()} for sentence in sentences]
    centroid: dict[str, float] = defaultdict(float)
    for vector in vectors:
        for stem, weight in vector.items():
            centroid[stem] += weight / count
    centroid_norm = math.sqrt(sum(w * w for w in centroid.values())) or 1.0
    scores = []
    for sentence, vector in zip(sentences, vectors, strict=True):
        norm = math.sqrt(sum(w * w for w in vector.values())) or 1.0
        cosine = sum(w * centroid.get(s, 0.0) for s, w in vector.items()) / (norm * centroid_norm)
        words = len(sentence.text.split())
        # Very short and very long sentences make poor summaries.
        shape = 1.0 if 8 <= words <= 45 else 0.5
        scores.append(cosine * shape)

    short = _pick(sentences, vectors, scores, 3)
    long = _pick(sentences, vectors, scores, 12)
    topics = _topic_words(sentences)
    quotable = [
        score * (1.3 if re.search(r"[!«»“”\"—]", s.text) else 1.0)
        if 8 <= len(s.text.split()) <= 35 and s.text[:1].isupper()
        else 0.0
        for s, score in zip(sentences, scores, strict=True)
    ]
    quote_sentences = _pick(sentences, vectors, quotable, 5, by_order=False)
    quotes = [
        Quote(s.text, s.chunk.seq, s.chunk.page, s.chunk.chapter, s.chunk.percent)
        for s in quote_sentences
        if quotable[s.order] > 0
    ]
    return Summary(
        book_id=book_id,
        scope=scope,
        chapter=chapter,
        method="extractive",
        short=" ".join(s.shown for s in short),
        long=_paragraphs(long),
        topics=topics,
        quotes=quotes,
    )


def _sentences(chunks: Sequence[Chunk]) -> list[_Sentence]:
    spans: list[tuple[Chunk, int, int]] = []
    for chunk in chunks:
        spans.extend((chunk, s, e) for s, e in text_sentence_spans(chunk.text))
    if len(spans) > MAX_SENTENCES:
        step = len(spans) / MAX_SENTENCES
        spans = [spans[int(i * step)] for i in range(MAX_SENTENCES)]
    sentences: list[_Sentence] = []
    for chunk, start, end in spans:
        text = chunk.text[start:end]
        stems = Counter(lexical.stems(text))
        if stems and len(text) >= 20:
            sentences.append(_Sentence(text, chunk, start, len(sentences), stems))
    return sentences


def _pick(
    sentences: Sequence[_Sentence],
    vectors: Sequence[dict[str, float]],
    scores: Sequence[float],
    limit: int,
    *,
    by_order: bool = True,
) -> list[_Sentence]:
    """Greedy picks by score with a penalty for overlap with what was picked (MMR-style)."""
    ranked = sorted(range(len(sentences)), key=lambda i: -scores[i])[: limit * 20]
    chosen: list[int] = []
    while ranked and len(chosen) < limit:
        best, best_value = None, -1.0
        for index in ranked:
            overlap = max((_cosine(vectors[index], vectors[j]) for j in chosen), default=0.0)
            value = scores[index] - 0.7 * overlap * scores[index]
            if value > best_value:
                best, best_value = index, value
        if best is None or scores[best] <= 0:
            break
        chosen.append(best)
        ranked.remove(best)
    if by_order:
        chosen.sort()
    return [sentences[i] for i in chosen]


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    dot = sum(w * b.get(s, 0.0) for s, w in a.items())
    if not dot:
        return 0.0
    return dot / (
        (math.sqrt(sum(w * w for w in a.values())) * math.sqrt(sum(w * w for w in b.values()))) or 1.0
    )


def _topic_words(sentences: Sequence[_Sentence], limit: int = TOPICS) -> list[str]:
    """The most distinctive words: count x log(1 + chunks / chunks with the word), common words left out."""
    counts: Counter[str] = Counter()
    forms: dict[str, Counter[str]] = defaultdict(Counter)
    in_chunks: dict[int, set[str]] = defaultdict(set)
    for sentence in sentences:
        for word in re.findall(r"[^\W\d_]{3,}", sentence.text):
            stems = lexical.stems(word)
            if not stems or len(stems[0]) <= 2 or stems[0] in _TOPIC_STOP_STEMS:
                continue
            counts[stems[0]] += 1
            forms[stems[0]][word] += 1
            in_chunks[sentence.chunk.seq].add(stems[0])
    chunks = len(in_chunks)
    frequency = Counter(stem for stems in in_chunks.values() for stem in stems)
    weight = {stem: count * math.log(1 + chunks / frequency[stem]) for stem, count in counts.items()}
    heaviest = sorted(weight, key=lambda stem: -weight[stem])[:limit]
    return [forms[stem].most_common(1)[0][0] for stem in heaviest]


def _paragraphs(sentences: Sequence[_Sentence]) -> str:
    """Sentences in reading order, a new paragraph where the chapter changes."""
    lines: list[str] = []
    current: list[str] = []
    chapter: str | None = None
    for sentence in sentences:
        if current and sentence.chunk.chapter != chapter:
            lines.append(" ".join(current))
            current = []
        chapter = sentence.chunk.chapter
        current.append(sentence.shown)
    if current:
        lines.append(" ".join(current))
    return "\n\n".join(lines)


def _before_labels(reply: str) -> str:
    cut = len(reply)
    for label in ("TOPICS:", "QUOTE:"):
        position = reply.upper().find(label)
        if position != -1:
            cut = min(cut, position)
    return reply[:cut].strip()


def _topics(value: str | None) -> list[str]:
    if not value:
        return []
    return [t.strip(" .-*•") for t in re.split(r"[;\n]", value) if t.strip(" .-*•")]


def _first_sentences(text: str, count: int) -> str:
    spans = list(sentence_spans(text))[:count]
    return " ".join(text[s:e] for s, e in spans)


def _spread(quotes: Sequence[Quote], limit: int) -> list[Quote]:
    unique: list[Quote] = []
    for quote in quotes:
        if all(quote.text != other.text for other in unique):
            unique.append(quote)
    return unique[:limit]
