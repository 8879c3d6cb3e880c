"""What the daily quote and the weekly digest say: chosen from the user's own books and questions.

Pure reads, no Telegram: `pick_quote` finds a good passage (whole sentences, a readable length, not a table
of contents or a page of numbers) with its book and place, laid out for reading; `build_digest` gathers
a week.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Book, ChatTurn, Chunk, Delivery
from db.repositories import books as books_repo
from services.search.sentences import reflow, text_sentence_spans

QUOTE_MIN = 120
QUOTE_MAX = 600
CANDIDATES = 24
RECENT_QUOTES = 60

HEADING_WORDS = 8
_SENTENCE_ENDS = tuple('.!?…»"”')
_URL = re.compile(r"https?://|www\.")


@dataclass(frozen=True, slots=True)
class Passage:
    book_id: int
    title: str
    author: str | None
    seq: int
    text: str
    page: int | None
    chapter: str | None
    percent: float


@dataclass(frozen=True, slots=True)
class Digest:
    """A user's week: questions asked, books asked about and added, and a passage to return to."""

    questions: int
    books_discussed: list[tuple[str, int]]  # (title, questions), most asked first
    books_added: list[str]
    sample_questions: list[str]
    passage: Passage | None
    extra: dict[str, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.questions and not self.books_added and self.passage is None


def quote_text(text: str, limit: int = QUOTE_MAX) -> str:
    """A passage as a quote shows it: reflowed for reading, without the headings it may start with (the
    place says the chapter), whole sentences up to `limit` characters (one cut sentence at worst)."""
    text = _without_headings(reflow(text))
    if len(text) <= limit:
        return text
    ends = [end for _start, end in text_sentence_spans(text) if end <= limit]
    if ends and ends[-1] >= QUOTE_MIN:
        return text[: ends[-1]]
    cut = text[:limit].rsplit(None, 1)[0]
    return cut.rstrip(",;:—- ") + "…"


def _without_headings(text: str) -> str:
    """The text from its first line that is not a heading: a line of a few words that does not end a
    sentence ("CHAPTER II", "The Lighthouse Keeper", "[Emma by Jane Austen 1816]") or is in capitals."""
    lines = text.split("\n")
    while len(lines) > 1:
        line = lines[0].strip()
        words = len(line.split())
        heading = not line or (
            words <= HEADING_WORDS and (not line.endswith(_SENTENCE_ENDS) or line.upper() == line)
        )
        if not heading:
            break
        lines.pop(0)
    return "\n".join(lines).strip()


def quote_score(text: str) -> float:
    """How good a passage reads as a quote on its own; below 0 never shown."""
    flat = " ".join(text.split())
    if len(flat) < QUOTE_MIN // 2:
        return -1.0
    letters = sum(ch.isalpha() for ch in flat)
    digits = sum(ch.isdigit() for ch in flat)
    if letters < len(flat) * 0.6 or digits > len(flat) * 0.08 or _URL.search(flat):
        return -1.0
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > 3 and sum(len(line) for line in lines) / len(lines) < 40:
        return -1.0  # a list, a table of contents, verse laid out in short lines
    score = 1.0
    if QUOTE_MIN <= len(flat) <= QUOTE_MAX:
        score += 1.0
    if flat[0].isupper() or flat[0] in '«"“—':
        score += 0.5
    if flat[-1] in '.!?…»"”':
        score += 0.5
    return score


async def recent_quote_keys(session: AsyncSession, user_id: int) -> set[tuple[int, int]]:
    rows = await session.scalars(
        select(Delivery.details)
        .where(Delivery.user_id == user_id, Delivery.campaign.startswith("quote:"))
        .order_by(Delivery.id.desc())
        .limit(RECENT_QUOTES)
    )
    keys = set()
    for details in rows.all():
        if details and "book_id" in details and "seq" in details:
            keys.add((int(details["book_id"]), int(details["seq"])))
    return keys


def _readable(book: Any) -> int:
    """How many of the book's passages the reader may be shown (all, or about those before their limit)."""
    if book.read_until is None:
        return int(book.chunks)
    return int(book.chunks * book.read_until / 100.0)


async def pick_quote(
    session: AsyncSession, user_id: int, seed: str, avoid: set[tuple[int, int]] | None = None
) -> Passage | None:
    """A good passage from one of the user's ready books, the same for the same seed; None without books.
    In a book where the reader has said how far they have read, only from the part read."""
    books = [
        book
        for book in (
            await session.execute(
                select(Book.id, Book.title, Book.file_name, Book.author, Book.chunks, Book.read_until).where(
                    Book.user_id == user_id, Book.status == "ready", Book.chunks > 0
                )
            )
        ).all()
        if _readable(book) > 0
    ]
    if not books:
        return None
    rng = random.Random(f"{user_id}:{seed}")
    weights = [int(b.chunks) for b in books]
    wanted: dict[int, set[int]] = {}
    for _ in range(CANDIDATES):
        book = rng.choices(books, weights=weights)[0]
        wanted.setdefault(int(book.id), set()).add(rng.randrange(_readable(book)))
    candidates: list[tuple[float, Chunk]] = []
    avoid = avoid or set()
    limits = {int(b.id): b.read_until for b in books}
    for book_id, seqs in wanted.items():
        rows = await session.scalars(
            select(Chunk).where(
                Chunk.book_id == book_id,
                Chunk.seq.in_(sorted(seqs)),
                books_repo.before_limit(limits[book_id]),
            )
        )
        for chunk in rows.all():
            if (chunk.book_id, chunk.seq) in avoid:
                continue
            score = quote_score(chunk.text)
            if score > 0:
                candidates.append((score + rng.random() * 0.1, chunk))
    if not candidates:
        return None
    _, best = max(candidates, key=lambda item: item[0])
    info = next(b for b in books if int(b.id) == best.book_id)
    return Passage(
        book_id=best.book_id,
        title=info.title or info.file_name,
        author=info.author,
        seq=best.seq,
        text=quote_text(best.text),
        page=best.page,
        chapter=best.chapter,
        percent=best.percent,
    )


async def build_digest(
    session: AsyncSession, user_id: int, since: datetime, until: datetime, seed: str
) -> Digest:
    turns = (
        await session.scalars(
            select(ChatTurn)
            .where(ChatTurn.user_id == user_id, ChatTurn.created_at >= since, ChatTurn.created_at < until)
            .order_by(ChatTurn.id)
        )
    ).all()
    titles = {
        int(b.id): b.title or b.file_name
        for b in (
            await session.execute(select(Book.id, Book.title, Book.file_name).where(Book.user_id == user_id))
        ).all()
    }
    per_book = Counter(titles.get(t.book_id, "") for t in turns if t.book_id is not None)
    added = (
        await session.scalars(
            select(Book.id).where(
                Book.user_id == user_id,
                Book.status == "ready",
                Book.created_at >= since,
                Book.created_at < until,
            )
        )
    ).all()
    passage = await _most_cited(session, turns, titles) or await pick_quote(
        session, user_id, seed, await recent_quote_keys(session, user_id)
    )
    return Digest(
        questions=len(turns),
        books_discussed=[(title, n) for title, n in per_book.most_common(5) if title],
        books_added=[titles[i] for i in added if i in titles],
        sample_questions=[t.question[:120] for t in turns[-3:]],
        passage=passage,
    )


async def _most_cited(
    session: AsyncSession, turns: Sequence[ChatTurn], titles: dict[int, str]
) -> Passage | None:
    """The passage the week's answers quoted most: the one worth returning to."""
    counts: Counter[tuple[int, int]] = Counter()
    for turn in turns:
        for citation in turn.citations or []:
            try:
                counts[(int(citation["book_id"]), int(citation["chunk_id"]))] += 1
            except (KeyError, TypeError, ValueError):
                continue
    for (book_id, seq), _ in counts.most_common(5):
        if book_id not in titles:
            continue
        chunk = await session.scalar(select(Chunk).where(Chunk.book_id == book_id, Chunk.seq == seq))
        if chunk is not None and quote_score(chunk.text) > 0:
            book = await session.get(Book, book_id)
            return Passage(
                book_id=book_id,
                title=titles[book_id],
                author=book.author if book else None,
                seq=seq,
                text=quote_text(chunk.text),
                page=chunk.page,
                chapter=chunk.chapter,
                percent=chunk.percent,
            )
    return None
