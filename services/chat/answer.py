"""Answering questions about a user's books: retrieve, ground, stream, check quotes, cite places.

    result = await answers.answer(session, user_id=1, question="Who is Ivan?", book_id=7,
                                  on_text=show_partial_text)

- Retrieval: the active book (or the whole shelf with `book_id=None`) through `SearchIndex.search`,
  which filters by user in the query itself. A follow-up ("what did he do then?") is first rewritten
  into a standalone query with the conversation (LLM, or the previous question's key terms).
- With an LLM: a grounded prompt (passages fenced and numbered as data), streamed through the router;
  then citation markers are renumbered and mapped to places, and every quotation is checked against
  the passages and the book's chunks — one not there verbatim loses its quotation marks and is marked.
- Without one, or when every provider fails: the extractive answer, quoted verbatim with places.
- The same (normalised) question on the same book and mode is answered from the cache with no LLM
  call (`cached=True`: not charged). Every turn is remembered in the database; /new clears it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Book, BookStatus, ChatTurn, Chunk
from db.repositories import books as books_repo
from services.chat.cache import AnswerCache
from services.chat.citations import renumber
from services.chat.memory import ConversationMemory, heuristic_rewrite, looks_like_follow_up
from services.chat.offline import extractive_reply
from services.chat.prompting import grounded_messages, rewrite_messages
from services.chat.quotes import Quotation, find_quotations, is_verbatim, mark_unverified, normalise
from services.chat.types import EXTRACTIVE, AnswerCharges, AnswerResult, Citation, Hold, Mode, Retriever
from services.llm import AllProvidersFailed, LLMRequest, LLMRouter, LLMUsage, ProviderError

logger = logging.getLogger(__name__)

TextCallback = Callable[[str], Awaitable[None]]

DEFAULT_K = 8
# Passages handed to the model, in characters: enough context without paying for the whole shelf.
CONTEXT_CHARS = 6000
ANSWER_TOKENS = 900
DETAIL_TOKENS = 1600
# For the hold before an LLM call: the prompt beyond its passages (instructions, recent conversation), and
# a cautious count of characters per token (fewer than the usual 4, so the hold is not short).
PROMPT_EXTRA_CHARS = 4000
CHARS_PER_TOKEN = 3


class AnswerService:
    """Grounded answers with citations; see the module docstring. Never renders Telegram text."""

    def __init__(
        self,
        retriever: Retriever | None,
        router: LLMRouter | None,
        *,
        memory: ConversationMemory | None = None,
        cache: AnswerCache | None = None,
        k: int = DEFAULT_K,
        context_chars: int = CONTEXT_CHARS,
    ) -> None:
        self.retriever = retriever
        self.router = router
        self.memory = memory or ConversationMemory()
        self.cache = cache or AnswerCache()
        self.k = k
        self.context_chars = context_chars
        # Billing's holds and charges, and the plan's models (installed by billing; None: free).
        self.charges: AnswerCharges | None = None

    @property
    def has_llm(self) -> bool:
        return self.router is not None

    # --- public ------------------------------------------------------------------------------------

    async def answer(
        self,
        session: AsyncSession,
        *,
        user_id: int,
        question: str,
        book_id: int | None,
        mode: Mode = "answer",
        on_text: TextCallback | None = None,
        remember: bool = True,
    ) -> AnswerResult:
        """Answer `question` from the book `book_id` (None: every book of the user) and commit the turn.

        The session's connection is given back (committed) before searching and before any LLM call;
        the answer's record and its charge are written in one short transaction at the end."""
        question = question.strip()
        since, shelf = await self._scope(session, user_id, book_id)
        limits = await books_repo.reading_limits(session, user_id, book_id)
        shelf += "".join(f";{book}<{percent:g}" for book, percent in sorted(limits.items()))
        history = await self.memory.recent(session, user_id, book_id, since=since) if remember else []
        use_llm = self.router is not None and mode in ("answer", "simple")
        hold = await self._hold(session, user_id, use_llm, self.context_chars, ANSWER_TOKENS, question=True)
        await session.commit()
        if hold is not None and not hold.ok:
            return _nothing(mode, question, book_id, [], refusal=hold.refusal)
        try:
            result = await self._answer(
                session,
                hold,
                user_id,
                question,
                book_id,
                mode,
                on_text,
                remember,
                since,
                shelf,
                history,
                use_llm,
                limits,
            )
        except BaseException:
            await self._release(session, user_id, hold)
            raise
        return replace(result, limits=limits) if limits else result

    async def _answer(
        self,
        session: AsyncSession,
        hold: Hold | None,
        user_id: int,
        question: str,
        book_id: int | None,
        mode: Mode,
        on_text: TextCallback | None,
        remember: bool,
        since: datetime | None,
        shelf: str,
        history: Sequence[ChatTurn],
        use_llm: bool,
        limits: dict[int, float],
    ) -> AnswerResult:
        usage: list[LLMUsage] = []
        search_query = question
        if history and looks_like_follow_up(question):
            search_query = await self._rewrite(
                question, [(t.question, t.answer) for t in history], user_id, book_id, usage
            )

        if use_llm:
            entry = await self.cache.get(
                session, user_id, book_id, mode, search_query, shelf=shelf, since=since
            )
            if entry is not None:
                citations = [Citation.from_dict(c) for c in entry.citations]
                result = AnswerResult(
                    text=entry.answer,
                    citations=citations,
                    passages=citations,
                    provider=entry.provider,
                    cached=True,
                    usage=usage,
                    mode=mode,
                    search_query=search_query,
                    book_id=book_id,
                )
                return await self._remember(session, result, user_id, question, remember, hold)
            await session.commit()

        passages = await self.retrieve(
            user_id, search_query, book_id=book_id, k=self.k, budget=self.context_chars, limits=limits
        )
        if not passages:
            await self._settle(session, user_id, hold, None)
            await session.commit()
            return _nothing(mode, search_query, book_id, usage)

        if mode == "quotes":
            found = AnswerResult(
                "",
                passages,
                passages,
                provider="search",
                cached=False,
                usage=usage,
                mode=mode,
                search_query=search_query,
                book_id=book_id,
            )
            return await self._remember(session, found, user_id, question, remember, hold)

        context = self._fit(passages)
        generated: AnswerResult | None = None
        if use_llm:
            history_pairs = [(t.question, t.answer) for t in history]
            generated = await self._generate(
                session,
                user_id=user_id,
                question=question,
                book_id=book_id,
                mode=mode,
                passages=context,
                all_passages=passages,
                history=history_pairs,
                usage=usage,
                on_text=on_text,
                purpose="answer",
                max_tokens=ANSWER_TOKENS,
                search_query=search_query,
            )
            if generated is not None:
                await self.cache.put(
                    session,
                    user_id=user_id,
                    book_id=book_id,
                    mode=mode,
                    question=search_query,
                    shelf=shelf,
                    answer=generated.text,
                    citations=[c.as_dict() for c in generated.citations],
                    provider=generated.provider,
                )
        result = generated or await self._extractive(
            question, context, passages, usage, mode, search_query, book_id, degraded=use_llm
        )
        return await self._remember(session, result, user_id, question, remember, hold)

    async def expand(
        self, session: AsyncSession, *, user_id: int, turn_id: int, on_text: TextCallback | None = None
    ) -> AnswerResult | None:
        """More detail on an earlier answer: the LLM with more passages, or (offline) more passages.

        None when the turn is not the user's (or no longer exists). Like `answer`, no connection is held
        while searching or while the LLM writes."""
        turn = await self.memory.get_turn(session, user_id, turn_id)
        # The conversation that led to this answer, so the detail stays on the same topic.
        earlier = await self.memory.recent(session, user_id, turn.book_id) if turn is not None else []
        limits = await books_repo.reading_limits(session, user_id, turn.book_id) if turn is not None else {}
        await session.commit()
        if turn is None:
            return None
        history = [(t.question, t.answer) for t in earlier if t.id < turn.id]
        passages = await self.retrieve(
            user_id,
            turn.search_query,
            book_id=turn.book_id,
            k=self.k * 2,
            budget=self.context_chars * 2,
            limits=limits,
        )
        usage: list[LLMUsage] = []
        if self.router is not None and passages:
            hold = await self._hold(
                session, user_id, True, self.context_chars * 2, DETAIL_TOKENS, question=False
            )
            await session.commit()
            if hold is not None and not hold.ok:
                return _nothing("answer", turn.search_query, turn.book_id, usage, refusal=hold.refusal)
            try:
                result = await self._generate(
                    session,
                    user_id=user_id,
                    question=turn.question,
                    book_id=turn.book_id,
                    mode="detail",
                    passages=self._fit(passages, self.context_chars * 2),
                    all_passages=passages,
                    history=history,
                    usage=usage,
                    on_text=on_text,
                    purpose="expand",
                    max_tokens=DETAIL_TOKENS,
                    search_query=turn.search_query,
                )
                await self._settle(session, user_id, hold, result)
                await session.commit()
            except BaseException:
                await self._release(session, user_id, hold)
                raise
            if result is not None:
                return result
        shown = {(c["book_id"], c["chunk_id"]) for c in turn.citations}
        extra = [p for p in passages if (p.book_id, p.chunk_id) not in shown][: self.k]
        return AnswerResult(
            "",
            extra,
            passages,
            provider="search",
            cached=False,
            usage=usage,
            mode="quotes",
            found=bool(extra),
            search_query=turn.search_query,
            book_id=turn.book_id,
        )

    async def retrieve(
        self,
        user_id: int,
        query: str,
        *,
        book_id: int | None,
        k: int,
        budget: int | None = None,
        limits: Mapping[int, float] | None = None,
        translate: bool = True,
    ) -> list[Citation]:
        """The k best passages of the user's book (or books), best first, packed for `budget`
        characters of context when given; `limits` (book id -> percent read, see services.chat.reading)
        keeps out what the reader has not read yet. `translate=False`: a question in another language
        than the books is not sent to the LLM (inline queries change with every letter typed)."""
        if self.retriever is None or not query.strip():
            return []
        options = {} if translate else {"translate": False}  # only the translating search takes it
        hits = await self.retriever.search(
            user_id,
            query,
            book_ids=None if book_id is None else [book_id],
            k=k,
            budget=budget,
            limits=limits,
            **options,
        )
        return [Citation.from_hit(hit) for hit in hits]

    async def new_topic(
        self, session: AsyncSession, user_id: int, book_id: int | None, *, all_books: bool = False
    ) -> None:
        """Forget the conversation (/new); answers already cached stay cached."""
        await self.memory.clear(session, user_id, book_id, all_books=all_books)
        await session.commit()

    async def turn_citations(
        self, session: AsyncSession, user_id: int, turn_id: int
    ) -> list[Citation] | None:
        """The citations shown under an earlier answer (the "sources" button)."""
        turn = await self.memory.get_turn(session, user_id, turn_id)
        return None if turn is None else [Citation.from_dict(c) for c in turn.citations]

    # --- steps -------------------------------------------------------------------------------------

    async def _rewrite(
        self,
        question: str,
        history: Sequence[tuple[str, str]],
        user_id: int,
        book_id: int | None,
        usage: list[LLMUsage],
    ) -> str:
        previous = history[-1][0]
        if self.router is None:
            return heuristic_rewrite(question, previous)
        request = LLMRequest(
            rewrite_messages(question, history[-3:]),
            max_tokens=80,
            temperature=0.0,
            tags=_tags(user_id, book_id, "rewrite"),
        )
        try:
            result = await self.router.generate(request)
        except (AllProvidersFailed, ProviderError) as error:
            logger.info("follow-up rewrite fell back to the heuristic: %s", error)
            return heuristic_rewrite(question, previous)
        usage.append(result.usage)
        rewritten = result.text.strip().strip('"«»“”').splitlines()[0].strip() if result.text.strip() else ""
        return rewritten if 0 < len(rewritten) <= 500 else heuristic_rewrite(question, previous)

    async def _generate(
        self,
        session: AsyncSession,
        *,
        user_id: int,
        question: str,
        book_id: int | None,
        mode: str,
        passages: list[Citation],
        all_passages: list[Citation],
        history: Sequence[tuple[str, str]],
        usage: list[LLMUsage],
        on_text: TextCallback | None,
        purpose: str,
        max_tokens: int,
        search_query: str,
    ) -> AnswerResult | None:
        """The LLM's grounded answer, checked; None when every provider failed (answer extractively)."""
        assert self.router is not None
        titles = await self._titles(session, passages) if book_id is None else None
        request = LLMRequest(
            grounded_messages(question, passages, mode=mode, history=history, titles=titles),
            max_tokens=max_tokens,
            tags=_tags(user_id, book_id, purpose),
            models=await self.charges.models_for(session, user_id) if self.charges is not None else {},
        )
        await session.commit()  # no connection is held while the model writes
        try:
            async with self.router.stream(request) as stream:
                async for _delta in stream:
                    if on_text is not None:
                        await on_text(stream.text)
                result = stream.result
        except (AllProvidersFailed, ProviderError) as error:
            # A provider that broke mid-answer cannot be resumed by another: answer extractively.
            logger.warning("LLM answer failed, answering extractively: %s", error)
            return None
        usage.append(result.usage)
        text, order = renumber(result.text.strip(), len(passages))
        citations = [passages[i] for i in order]
        text, unverified = await self._check_quotes(session, text, passages, user_id, book_id)
        return AnswerResult(
            text=text,
            citations=citations,
            passages=all_passages,
            provider=result.usage.provider,
            cached=False,
            usage=usage,
            mode=mode if mode in ("answer", "simple") else "answer",  # type: ignore[arg-type]
            unverified_quotes=unverified,
            model=result.usage.model,
            search_query=search_query,
            book_id=book_id,
        )

    async def _extractive(
        self,
        question: str,
        context: list[Citation],
        passages: list[Citation],
        usage: list[LLMUsage],
        mode: Mode,
        search_query: str,
        book_id: int | None,
        *,
        degraded: bool,
    ) -> AnswerResult:
        reply = await extractive_reply(question, context, embedder=getattr(self.retriever, "embedder", None))
        return AnswerResult(
            text=reply.text,
            citations=reply.citations,
            passages=passages,
            provider=EXTRACTIVE,
            cached=False,
            usage=usage,
            mode=mode,
            search_query=search_query,
            book_id=book_id,
            degraded=degraded,
        )

    async def _check_quotes(
        self,
        session: AsyncSession,
        text: str,
        passages: Sequence[Citation],
        user_id: int,
        book_id: int | None,
    ) -> tuple[str, list[str]]:
        """Mark quotations found neither in the passages nor anywhere in the book(s)."""
        quotes = find_quotations(text)
        if not quotes:
            return text, []
        sources = [p.text for p in passages]
        missing = [q for q in quotes if not is_verbatim(q.text, sources)]
        if missing:
            missing = await self._not_in_books(session, missing, user_id, book_id)
        return mark_unverified(text, missing), [q.text for q in missing]

    async def _not_in_books(
        self, session: AsyncSession, quotes: list[Quotation], user_id: int, book_id: int | None
    ) -> list[Quotation]:
        """The quotations that no chunk of the book(s) contains (a quote may span two chunks)."""
        query = (
            select(Chunk.book_id, Chunk.text)
            .join(Book, Book.id == Chunk.book_id)
            .where(Book.user_id == user_id)
        )
        if book_id is not None:
            query = query.where(Chunk.book_id == book_id)
        remaining = list(quotes)
        previous: tuple[int, str] | None = None
        stream = await session.stream(
            query.order_by(Chunk.book_id, Chunk.seq).execution_options(yield_per=500)
        )
        async for chunk_book, chunk_text in stream:
            window = chunk_text
            if previous is not None and previous[0] == chunk_book:
                window = previous[1][-400:] + " " + chunk_text
            remaining = [q for q in remaining if not is_verbatim(q.text, [window])]
            if not remaining:
                break
            previous = (chunk_book, chunk_text)
        await stream.close()
        return remaining

    async def _remember(
        self,
        session: AsyncSession,
        result: AnswerResult,
        user_id: int,
        question: str,
        remember: bool,
        hold: Hold | None,
    ) -> AnswerResult:
        if remember:
            turn = await self.memory.add(
                session,
                user_id=user_id,
                book_id=result.book_id,
                mode=result.mode,
                question=question,
                search_query=result.search_query,
                answer=result.text or _passages_digest(result.citations),
                citations=[c.as_dict() for c in result.citations],
                provider=result.provider,
                cached=result.cached,
            )
            result = _with_turn(result, turn.id)
        await self._settle(session, user_id, hold, result)
        await session.commit()
        return result

    # --- charges ------------------------------------------------------------------------------------

    async def _hold(
        self, session: AsyncSession, user_id: int, use_llm: bool, context_chars: int, max_tokens: int, *,
        question: bool,
    ) -> Hold | None:  # fmt: skip
        """Hold what the answer may cost (nothing to hold without billing). The prompt's size is bounded
        by the context budget plus the instructions and the recent conversation."""
        if self.charges is None:
            return None
        input_tokens = (context_chars + PROMPT_EXTRA_CHARS) // CHARS_PER_TOKEN if use_llm else 0
        return await self.charges.hold(
            session, user_id, input_tokens=input_tokens, output_tokens=max_tokens if use_llm else 0,
            question=question,
        )  # fmt: skip

    async def _settle(
        self, session: AsyncSession, user_id: int, hold: Hold | None, result: AnswerResult | None
    ) -> None:
        if self.charges is not None and hold is not None:
            await self.charges.settle(session, user_id, hold, result)

    async def _release(self, session: AsyncSession, user_id: int, hold: Hold | None) -> None:
        """The answer failed half-way: forget what it wrote and give back what it held."""
        if self.charges is None or hold is None:
            return
        await session.rollback()
        await self.charges.settle(session, user_id, hold, None)
        await session.commit()

    def _fit(self, passages: list[Citation], budget: int | None = None) -> list[Citation]:
        return fit_passages(passages, budget or self.context_chars)

    async def _scope(
        self, session: AsyncSession, user_id: int, book_id: int | None
    ) -> tuple[datetime | None, str]:
        """When the book was added (older turns and answers belong to a deleted book that had its id),
        or for the whole shelf, which ready books it holds."""
        if book_id is not None:
            return await session.scalar(select(Book.created_at).where(Book.id == book_id)), ""
        ids = await session.scalars(
            select(Book.id).where(Book.user_id == user_id, Book.status == BookStatus.READY).order_by(Book.id)
        )
        return None, ",".join(str(i) for i in ids)

    async def _titles(self, session: AsyncSession, passages: Sequence[Citation]) -> dict[int, str]:
        ids = sorted({p.book_id for p in passages})
        rows = await session.execute(select(Book.id, Book.title, Book.file_name).where(Book.id.in_(ids)))
        return {row[0]: row[1] or row[2] for row in rows}


def _nothing(
    mode: Mode, search_query: str, book_id: int | None, usage: list[LLMUsage], *, refusal: Any = None
) -> AnswerResult:
    """No answer: nothing relevant was found, or (with `refusal`) the user's plan or balance said no."""
    return AnswerResult(
        "", [], [], provider="none", cached=False, usage=usage, mode=mode, found=False,
        search_query=search_query, book_id=book_id, refusal=refusal,
    )  # fmt: skip


def _tags(user_id: int, book_id: int | None, purpose: str) -> dict[str, str | int]:
    tags: dict[str, str | int] = {"user_id": user_id, "purpose": purpose}
    if book_id is not None:
        tags["book_id"] = book_id
    return tags


def _with_turn(result: AnswerResult, turn_id: int) -> AnswerResult:
    return replace(result, turn_id=turn_id)


def _passages_digest(citations: Sequence[Citation]) -> str:
    """What a passages-only turn "answered", so a follow-up has something to lean on."""
    return " … ".join(normalise(c.text)[:200] for c in citations[:3])


def fit_passages(passages: list[Citation], budget: int) -> list[Citation]:
    """The best passages that fit the context budget, in rank order (always at least one)."""
    fitted: list[Citation] = []
    total = 0
    for passage in passages:
        if fitted and total + len(passage.text) > budget:
            break
        fitted.append(passage)
        total += len(passage.text)
    return fitted
