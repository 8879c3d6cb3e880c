"""`librarity ask BOOK_ID|all "question" [--user ID] [--k N] [--retrieve-only] [--json]`.

Each result carries "search_ms": the milliseconds its searches of the index took (query embedding,
engine, re-ranking and widening; a chat answer may search more than once), beside "seconds" for all.
Also the batch form `--questions FILE` (one question a line: plain text, or JSON with a "question"
field), printing one JSON result a line with the models loaded once. The services come from
the same builders the bot uses (search index, LLM router, answer service), so the answer is the one the bot
would give; nothing of Telegram or billing is loaded, and nothing is charged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.cli import LOCAL_USER_ID
from bot.settings import Settings

DEFAULT_K = 8


class AskError(Exception):
    """A problem with the request itself; `code` goes into the JSON, the message to stderr."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("ask", help="ask a book (or the whole shelf) a question")
    parser.add_argument("book", help="a book id from the books table, or 'all' for the whole shelf")
    parser.add_argument("question", nargs="?", help="the question (or use --questions FILE)")
    parser.add_argument(
        "--questions", type=Path, help="a file of questions: plain lines or JSON lines with 'question'"
    )
    parser.add_argument(
        "--user", type=int, default=LOCAL_USER_ID, help=f"Telegram user id (default {LOCAL_USER_ID})"
    )
    parser.add_argument(
        "--k", type=int, default=DEFAULT_K, help=f"passages to retrieve (default {DEFAULT_K})"
    )
    parser.add_argument("--retrieve-only", action="store_true", help="no answer: the k best passages")
    parser.add_argument(
        "--mode", default="hybrid", choices=["hybrid", "dense", "lexical"], help="search mode"
    )
    parser.add_argument("--json", action="store_true", help="print JSON (always one object a line)")


def read_questions(path: Path) -> Iterator[dict[str, Any]]:
    """Questions of a file: each non-blank line, plain text or a JSON object with "question"."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            text = line.strip()
            if not text:
                continue
            if text.startswith("{"):
                try:
                    item = json.loads(text)
                except json.JSONDecodeError:
                    item = None
                if isinstance(item, dict) and isinstance(item.get("question"), str):
                    yield item
                    continue
            yield {"question": text}


async def run(args: argparse.Namespace, settings: Settings) -> int:
    if (args.question is None) == (args.questions is None):
        print("give a question or --questions FILE (not both)", file=sys.stderr)
        return 2
    if args.questions is not None and not await asyncio.to_thread(args.questions.is_file):
        print(f"no such file: {args.questions}", file=sys.stderr)
        return 2
    ctx = await AskContext.open(settings)
    try:
        asker = Asker(ctx, args)
        if args.questions is not None:
            status = 0
            for item in await asyncio.to_thread(lambda: list(read_questions(args.questions))):
                result = await asker.ask_safely(item["question"])
                extra = {key: value for key, value in item.items() if key != "question"}
                print(
                    json.dumps({"question": item["question"], **extra, **result}, ensure_ascii=False),
                    flush=True,
                )
                status = status or (1 if "error" in result else 0)
            return status
        result = await asker.ask_safely(args.question)
        if args.json:
            print(json.dumps(result, ensure_ascii=False))
        else:
            print(render_text(result))
        return 1 if "error" in result else 0
    finally:
        await ctx.close()


@dataclass
class AskContext:
    """What a question needs, built as the bot builds it: the database, the search index and the answer
    service (with the configured LLMs). No Telegram and no billing, so the command starts in a few seconds
    and charges nothing."""

    session_factory: Any
    services: dict[str, Any]
    _closers: list[Any]

    @classmethod
    async def open(cls, settings: Settings) -> AskContext:
        from bot.settings import encryption_keys
        from bot.wiring.chat import build_answer_service
        from db.encryption import configure as configure_encryption
        from db.engine import create_engine, create_session_factory
        from db.migrate import upgrade_async
        from services.search.index import build_search_index

        configure_encryption(encryption_keys(settings))  # the bot's conversations are read back encrypted
        await upgrade_async(settings.effective_database_url)
        engine = create_engine(settings.effective_database_url)
        session_factory = create_session_factory(engine)
        index = build_search_index(settings)
        answers = build_answer_service(settings, session_factory, index)
        closers = [index.close, engine.dispose]
        if answers.router is not None:
            closers.insert(0, answers.router.aclose)
        return cls(session_factory, {"search_index": index, "answers": answers}, closers)

    async def close(self) -> None:
        for close in self._closers:
            await close()


class Asker:
    """One question at a time against the services of one context."""

    def __init__(self, ctx: Any, args: argparse.Namespace) -> None:
        self.ctx = ctx
        self.user_id: int = args.user
        self.k: int = max(1, args.k)
        self.retrieve_only: bool = args.retrieve_only
        self.mode: str = args.mode
        self.book: str = args.book
        self._book_ids: list[int] | None = None

    async def ask_safely(self, question: str) -> dict[str, Any]:
        from services.search.index import timed_searches

        started = time.perf_counter()
        with timed_searches() as searches:
            try:
                result = await self.ask(question)
            except AskError as error:
                print(str(error), file=sys.stderr)
                result = {"answer": "", "provider": "none", "citations": [], "error": error.code}
        result["seconds"] = round(time.perf_counter() - started, 4)
        result["search_ms"] = round(sum(searches), 1)
        return result

    async def ask(self, question: str) -> dict[str, Any]:
        book_ids = await self.book_ids()
        if self.retrieve_only:
            index = self.ctx.services["search_index"]
            hits = await index.search(self.user_id, question, book_ids=book_ids, k=self.k, mode=self.mode)
            return {"answer": "", "provider": "none", "citations": [citation(hit) for hit in hits]}
        answers = self.ctx.services.get("answers")
        if answers is None:
            raise AskError("no_answer_service", "answers are not available here; use --retrieve-only")
        book_id = None if self.book == "all" else book_ids[0]  # type: ignore[index]
        async with self.ctx.session_factory() as session:
            result = await answers.answer(
                session, user_id=self.user_id, question=question, book_id=book_id, remember=False
            )
        data: dict[str, Any] = result.as_json()
        return data

    async def book_ids(self) -> list[int]:
        """The ready books the question searches: the one named, or every ready book of the user."""
        if self._book_ids is not None:
            return self._book_ids
        from sqlalchemy import select

        from db.models import Book, BookStatus

        query = select(Book.id, Book.status).where(Book.user_id == self.user_id)
        if self.book != "all":
            if not self.book.isdigit():
                raise AskError("bad_book_id", f"BOOK_ID must be a number or 'all', not {self.book!r}")
            query = query.where(Book.id == int(self.book))
        async with self.ctx.session_factory() as session:
            rows = (await session.execute(query)).all()
        if self.book != "all":
            if not rows:
                raise AskError("book_not_found", f"user {self.user_id} has no book {self.book}")
            if rows[0].status != BookStatus.READY:
                raise AskError("book_not_ready", f"book {self.book} is {rows[0].status}, not ready")
        self._book_ids = [row.id for row in rows if row.status == BookStatus.READY]
        if not self._book_ids:
            raise AskError(
                "no_books",
                f"user {self.user_id} has no ready books: send one in the sandbox's web page, run "
                "`librarity ingest PATH`, or name another shelf with --user",
            )
        return self._book_ids


def citation(hit: Any) -> dict[str, Any]:
    return {
        "book_id": hit.book_id,
        "chunk_id": hit.seq,
        "page": hit.page,
        "chapter": hit.chapter,
        "text": hit.text,
        "score": round(float(hit.score), 6),
        "percent": round(float(hit.percent), 2),  # where in the book, 0-100
    }


def render_text(result: dict[str, Any]) -> str:
    lines = []
    if result.get("error"):
        return f"error: {result['error']}"
    if result.get("answer"):
        lines += [result["answer"], ""]
    for number, item in enumerate(result.get("citations", []), start=1):
        place = ", ".join(
            part
            for part in (
                f"book {item['book_id']}",
                f"p. {item['page']}" if item.get("page") else "",
                item.get("chapter") or "",
            )
            if part
        )
        lines.append(f"[{number}] ({place}) {' '.join(item['text'].split())[:300]}")
    return "\n".join(lines) if lines else "nothing found"
