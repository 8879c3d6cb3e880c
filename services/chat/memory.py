"""Conversation memory per user and book (the `chat_turns` table), and follow-up questions.

A follow-up like "what did he do next?" means nothing to a search index. When the question looks like
one and there is an earlier turn, it is rewritten into a standalone query: by the LLM when there is
one, else by adding the key terms of the previous question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ChatTurn
from services.search.lexical import ENGLISH_STOP_WORDS, RUSSIAN_STOP_WORDS

DEFAULT_TURNS = 4

# Words that point back into the conversation. A question made of little else is a follow-up.
_REFERRING = frozenset(
    """
    he him his himself she her hers herself it its itself they them their theirs themselves this that these
    those there then such one ones same former latter above previous earlier else more why how what
    он его него ему нему им ним нём нем она её ее неё нее ей ней ею нею они их них ими ними это этот эта
    эти это тот та те то того тому том той тех такой такая такое такие там тогда тут здесь ещё еще
    почему зачем как что чем этом этого этой этих
    """.split()
)
_PRONOUNS = frozenset(
    """
    he him his she her hers it its they them their this that these those there
    он его него ему нему ним нём она её ее неё нее ей ней они их них ими ними этот эта эти этого этом
    этой этих тот та те того том той тех там
    """.split()
)
_QUESTION_WORDS = frozenset(
    """
    a an the and or but if of to in on at by for with about as into from up down out over under again is
    are was were be been being do does did done have has had having can could would should will shall may
    might must not no nor so than too very just also only own what which who whom whose when where why how
    all any both each few more most other some such i me my we our you your tell explain describe please
    happen happened happens book chapter says say said
    и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее её мне было
    вот от меня еще ещё нет о из ему теперь когда даже ну вдруг ли если уже или ни быть был него до вас
    нибудь опять уж вам ведь там потом себя ничего ей может они тут где есть надо ней для мы тебя их чем
    была сам чтоб без будто чего раз тоже себе под будет ж тогда кто этот того потому этого какой совсем
    ним здесь этом один почти мой тем чтобы нее сейчас были куда зачем всех никогда можно при наконец два
    об другой хоть после над больше тот через эти нас про всего них какая много разве три эту моя
    впрочем хорошо свою этой перед иногда лучше чуть том нельзя такой им более всегда конечно всю между
    расскажи объясни книга книге глава главе говорится сказано происходит произошло
    """.split()
)
STOPWORDS = _QUESTION_WORDS | ENGLISH_STOP_WORDS | RUSSIAN_STOP_WORDS
_WORD = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def key_terms(text: str) -> list[str]:
    """Content words of a question, in order, without repeats."""
    seen: list[str] = []
    for word in words(text):
        if word not in STOPWORDS and word not in _REFERRING and len(word) > 1 and word not in seen:
            seen.append(word)
    return seen


def looks_like_follow_up(question: str) -> bool:
    """True for questions that lean on the conversation: pronouns, or almost no content words."""
    tokens = words(question)
    if not tokens:
        return False
    content = key_terms(question)
    if any(t in _PRONOUNS for t in tokens):
        return True
    return len(content) <= 1 and len(tokens) <= 6


def heuristic_rewrite(question: str, previous_question: str) -> str:
    """The question with the key terms of the previous question that it does not already have."""
    have = set(key_terms(question))
    extra = [t for t in key_terms(previous_question) if t not in have]
    return f"{question.strip()} {' '.join(extra)}".strip() if extra else question.strip()


class ConversationMemory:
    """The last turns of a user's conversation about one book (None: the whole shelf)."""

    def __init__(self, turns: int = DEFAULT_TURNS) -> None:
        self.turns = turns

    async def recent(
        self, session: AsyncSession, user_id: int, book_id: int | None, *, since: datetime | None = None
    ) -> list[ChatTurn]:
        """Up to `turns` uncleared turns, oldest first; `since` leaves out turns older than the book
        (SQLite may give a deleted book's id to a new one)."""
        query = select(ChatTurn).where(
            ChatTurn.user_id == user_id, ChatTurn.cleared.is_(False), _book_is(book_id)
        )
        if since is not None:
            query = query.where(ChatTurn.created_at >= since)
        query = query.order_by(ChatTurn.id.desc()).limit(self.turns)
        rows = list((await session.scalars(query)).all())
        rows.reverse()
        return rows

    async def add(
        self,
        session: AsyncSession,
        *,
        user_id: int,
        book_id: int | None,
        mode: str,
        question: str,
        search_query: str,
        answer: str,
        citations: Sequence[dict[str, Any]],
        provider: str,
        cached: bool,
    ) -> ChatTurn:
        turn = ChatTurn(
            user_id=user_id,
            book_id=book_id,
            mode=mode,
            question=question,
            search_query=search_query,
            answer=answer,
            citations=list(citations),
            provider=provider,
            cached=cached,
        )
        session.add(turn)
        await session.flush()
        return turn

    async def clear(
        self, session: AsyncSession, user_id: int, book_id: int | None = None, *, all_books: bool = False
    ) -> int:
        """Start over (/new): the turns stay for analytics but are no longer remembered."""
        query = update(ChatTurn).where(ChatTurn.user_id == user_id, ChatTurn.cleared.is_(False))
        if not all_books:
            query = query.where(_book_is(book_id))
        result = await session.execute(
            query.values(cleared=True).execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def get_turn(self, session: AsyncSession, user_id: int, turn_id: int) -> ChatTurn | None:
        turn = await session.get(ChatTurn, turn_id)
        return turn if turn is not None and turn.user_id == user_id else None


def _book_is(book_id: int | None) -> Any:
    return ChatTurn.book_id.is_(None) if book_id is None else ChatTurn.book_id == book_id
