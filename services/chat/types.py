"""The chat layer's vocabulary: passages, citations, answers, and what it needs from search."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from services.llm import LLMUsage

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

Mode = Literal["answer", "quotes", "simple", "study"]
MODES: tuple[Mode, ...] = ("answer", "quotes", "simple", "study")
EXTRACTIVE = "extractive"


class HitLike(Protocol):
    """A search hit as `services.search` returns it (`Hit`)."""

    @property
    def book_id(self) -> int: ...
    @property
    def seq(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def page(self) -> int | None: ...
    @property
    def chapter(self) -> str | None: ...
    @property
    def percent(self) -> float: ...
    @property
    def score(self) -> float: ...


class Retriever(Protocol):
    """`SearchIndex.search` (see docs/SEARCH_CONTRACT.md); the user filter is in the query itself."""

    async def search(
        self,
        user_id: int,
        query: str,
        *,
        book_ids: Sequence[int] | None = None,
        k: int = 10,
        budget: int | None = None,
        limits: Mapping[int, float] | None = None,
    ) -> Sequence[HitLike]: ...


@dataclass(frozen=True, slots=True)
class Citation:
    """A passage of a book with its place; `chunk_id` is the chunk's `seq` within the book.

    `percent` is where the passage starts in the book (0-100), so that every citation has a position,
    also in books without pages; None for citations stored before it was kept.
    """

    book_id: int
    chunk_id: int
    page: int | None
    chapter: str | None
    text: str
    score: float
    percent: float | None = None

    @classmethod
    def from_hit(cls, hit: HitLike) -> Citation:
        percent = getattr(hit, "percent", None)
        return cls(
            hit.book_id,
            hit.seq,
            hit.page,
            hit.chapter,
            hit.text,
            float(hit.score),
            None if percent is None else float(percent),
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Citation:
        return cls(
            int(data["book_id"]),
            int(data["chunk_id"]),
            data.get("page"),
            data.get("chapter"),
            str(data.get("text", "")),
            float(data.get("score", 0.0)),
            None if data.get("percent") is None else float(data["percent"]),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "book_id": self.book_id,
            "chunk_id": self.chunk_id,
            "page": self.page,
            "chapter": self.chapter,
            "text": self.text,
            "score": self.score,
            "percent": self.percent,
        }


@dataclass(frozen=True, slots=True)
class AnswerResult:
    """What the user gets for one question.

    `text` is Markdown-ish (render it with `bot.render.markdown_to_html`); `[n]` in it refers to
    `citations[n-1]`. `passages` are all retrieved passages, best first. `cached` answers cost no LLM
    call (and are not charged). `found` is False when nothing relevant was retrieved; `text` is then
    empty and the handler says so. `unverified_quotes` were quoted by the model but are not in the
    book verbatim: they lost their quotation marks and carry `UNVERIFIED_MARK` in `text`.
    """

    text: str
    citations: list[Citation]
    passages: list[Citation]
    provider: str
    cached: bool
    usage: list[LLMUsage] = field(default_factory=list)
    mode: Mode = "answer"
    found: bool = True
    unverified_quotes: list[str] = field(default_factory=list)
    model: str | None = None
    search_query: str = ""
    book_id: int | None = None
    turn_id: int | None = None
    # The model was asked but failed (every provider): the text is the extractive fallback.
    degraded: bool = False
    # Why the answer was not made (billing's refusal: no credits, the day's questions used); found is False.
    refusal: Any = None
    # Spoiler-safe reading: book id -> percent read, for the books searched that have a limit.
    limits: dict[int, float] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The `librarity ask --json` shape (DESIGN.md): citations are the cited passages in citation
        order (`[n]` is `citations[n-1]`), or all retrieved passages, best first, when none were cited."""
        cited = self.citations or self.passages
        return {
            "answer": self.text,
            "provider": self.provider,
            "cached": self.cached,
            "found": self.found,
            "citations": [c.as_dict() for c in cited],
            "passages": [c.as_dict() for c in self.passages],
            "unverified_quotes": list(self.unverified_quotes),
            "usage": [
                {
                    "provider": u.provider,
                    "model": u.model,
                    "input_tokens": u.input_tokens,
                    "output_tokens": u.output_tokens,
                    "cost_usd": u.cost_usd,
                }
                for u in self.usage
            ],
        }

    @property
    def cost_usd(self) -> float:
        return sum(u.cost_usd for u in self.usage)

    @property
    def input_tokens(self) -> int:
        return sum(u.input_tokens for u in self.usage)

    @property
    def output_tokens(self) -> int:
        return sum(u.output_tokens for u in self.usage)


# Put after a quotation the model made up, where its quotation marks were.
UNVERIFIED_MARK = "⚠️"


class Hold(Protocol):
    """What an answer holds while it is made (billing's AnswerHold fits)."""

    @property
    def ok(self) -> bool: ...
    @property
    def refusal(self) -> Any: ...


class AnswerCharges(Protocol):
    """Billing's part in answering (services.billing.chat_hooks.AnswerBilling fits): `hold` before an
    answer is made, committed before any LLM call; `settle` in the transaction that records the answer
    (result None: it was not made, give everything back); the models of the user's plan."""

    async def hold(
        self, session: AsyncSession, user_id: int, *, input_tokens: int, output_tokens: int, question: bool
    ) -> Hold: ...

    async def settle(
        self, session: AsyncSession, user_id: int, hold: Hold, result: AnswerResult | None
    ) -> None: ...

    async def models_for(self, session: AsyncSession, user_id: int) -> Mapping[str, str]: ...
