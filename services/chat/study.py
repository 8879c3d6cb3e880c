"""Study mode: a question about a chapter, then a check of the reader's answer.

With an LLM the model writes the question and the expected answer from one passage and grades the
reply against both. Offline (or when the providers fail) the question is a gap to fill: a sentence of
the chapter (or a piece of one, cut between words), laid out for reading, with its most telling word
taken out; the reply is right when it has that word's stem.
With an LLM, the question and the check are each charged like an answer (services.chat.charging); the
gap question and its check are free.
The question travels as a plain dict (`as_dict`/`from_dict`) so the handler can keep it in FSM state.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Chunk
from db.repositories import books as books_repo
from services.chat import charging, prompting
from services.chat.summaries import Chapter, book_chapters
from services.chat.types import AnswerCharges
from services.llm import AllProvidersFailed, LLMRequest, LLMRouter, LLMUsage, ProviderError
from services.search import lexical
from services.search.sentences import reflow, split_long, text_sentence_spans

logger = logging.getLogger(__name__)

Verdict = Literal["correct", "partly", "wrong"]
GAP = "_____"
GAP_WORDS = (6, 40)  # a sentence this long (in words) makes a fair question
GAP_CHARS = 300  # a longer one is cut to a piece of about this many characters
STUDY_TOKENS = 300  # what the model may write for a question, and for a check
# For the hold: the prompt beyond its passage, and a cautious count of characters per token.
PROMPT_EXTRA_CHARS = 1500
CHARS_PER_TOKEN = 3


@dataclass(frozen=True, slots=True)
class StudyQuestion:
    book_id: int
    chunk_id: int
    chapter: str | None
    page: int | None
    question: str
    expected: str
    passage: str
    method: Literal["llm", "gap"]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StudyQuestion:
        return cls(**data)


@dataclass(frozen=True, slots=True)
class StudyCheck:
    verdict: Verdict
    expected: str
    feedback: str | None = None  # the model's words, in the reader's language
    usage: LLMUsage | None = None


class StudyService:
    def __init__(self, router: LLMRouter | None, *, rng: random.Random | None = None) -> None:
        self.router = router
        self.rng = rng or random.Random()
        # Billing's holds and charges, as for answers (installed by billing; None: free).
        self.charges: AnswerCharges | None = None

    @property
    def has_llm(self) -> bool:
        return self.router is not None

    async def most_tokens(self, session: AsyncSession, book_id: int) -> tuple[int, int]:
        """The most a question and its check can take on this book, (input, output) tokens: what the
        reader is asked to confirm when that costs more than BILLING_CONFIRM_ABOVE_CREDITS."""
        longest = int(
            await session.scalar(select(func.max(func.length(Chunk.text))).where(Chunk.book_id == book_id))
            or 0
        )
        return 2 * _input_tokens(longest), 2 * STUDY_TOKENS

    async def question(
        self, session: AsyncSession, *, user_id: int, book_id: int, chapter: str | None = None
    ) -> StudyQuestion | None:
        """A question on the chapter with key `chapter` (None: anywhere in the book); None without text."""
        limit = await books_repo.reading_limit(session, book_id)  # spoiler-safe: only the part read
        query = (
            select(Chunk).where(Chunk.book_id == book_id, books_repo.before_limit(limit)).order_by(Chunk.seq)
        )
        chunks = list((await session.scalars(query)).all())
        chapters = await book_chapters(session, book_id)
        await session.commit()  # no connection is held while the model writes
        picked = next((c for c in chapters if c.key == chapter), None)
        if picked is not None:
            chunks = [c for c in chunks if picked.holds(c)] or chunks
        chunks = [c for c in chunks if len(c.text) >= 120] or chunks
        if not chunks:
            return None
        chunk = self.rng.choice(chunks)
        place = _chapter_label(chapters, chunk)
        if self.router is not None:
            held = await charging.hold(
                self.charges, session, user_id, input_tokens=_input_tokens(len(chunk.text)),
                output_tokens=STUDY_TOKENS,
            )  # fmt: skip
            made: StudyQuestion | None = None
            work: charging.ModelWork | None = None
            try:
                result = await self.router.generate(
                    LLMRequest(
                        prompting.study_question_messages(chunk.text),
                        max_tokens=STUDY_TOKENS,
                        temperature=0.5,
                        tags={"user_id": user_id, "book_id": book_id, "purpose": "study"},
                    )
                )
                question = prompting.labelled(result.text, "QUESTION")
                expected = prompting.labelled(result.text, "ANSWER")
                if question and expected:
                    made = StudyQuestion(
                        book_id, chunk.seq, place, chunk.page, question, expected, chunk.text, "llm"
                    )
                    work = charging.ModelWork([result.usage])
            except (AllProvidersFailed, ProviderError) as error:
                logger.info("study question fell back to a gap: %s", error)
            except BaseException:
                await charging.release(self.charges, session, user_id, held)
                raise
            await charging.settle(self.charges, session, user_id, held, work)
            await session.commit()
            if made is not None:
                return made
        return self._gap_question(chunk, place, [c.text for c in chunks])

    async def check(
        self, question: StudyQuestion, reply: str, *, user_id: int, session: AsyncSession | None = None
    ) -> StudyCheck:
        """Grade the reply; an LLM check is charged like an answer when `session` is given (ChargeRefused
        when it can't be paid)."""
        if question.method == "llm" and self.router is not None:
            held = None
            if session is not None:
                held = await charging.hold(
                    self.charges, session, user_id,
                    input_tokens=_input_tokens(len(question.passage) + len(reply)), output_tokens=STUDY_TOKENS,
                )  # fmt: skip
            try:
                result = await self.router.generate(
                    LLMRequest(
                        prompting.study_check_messages(
                            question.passage, question.question, question.expected, reply
                        ),
                        max_tokens=STUDY_TOKENS,
                        temperature=0.0,
                        tags={"user_id": user_id, "book_id": question.book_id, "purpose": "study"},
                    )
                )
                verdict_text = (prompting.labelled(result.text, "VERDICT") or "").lower()
                verdict: Verdict = (
                    "correct"
                    if verdict_text.startswith("correct")
                    else "partly"
                    if verdict_text.startswith("partly")
                    else "wrong"
                )
                feedback = result.text.split("\n", 1)[1].strip() if "\n" in result.text else None
            except (AllProvidersFailed, ProviderError) as error:
                logger.info("study check fell back to word overlap: %s", error)
            except BaseException:
                if session is not None:
                    await charging.release(self.charges, session, user_id, held)
                raise
            else:
                if session is not None:
                    await charging.settle(
                        self.charges, session, user_id, held, charging.ModelWork([result.usage])
                    )
                    await session.commit()
                return StudyCheck(verdict, question.expected, feedback or None, result.usage)
            if session is not None:
                await charging.settle(self.charges, session, user_id, held, None)
                await session.commit()
        return StudyCheck(_overlap_verdict(question.expected, reply), question.expected)

    def _gap_question(
        self, chunk: Chunk, place: str | None, chapter_texts: Sequence[str]
    ) -> StudyQuestion | None:
        text = chunk.text
        spans = text_sentence_spans(text)
        fair = [(s, e) for s, e in spans if GAP_WORDS[0] <= len(text[s:e].split()) <= GAP_WORDS[1]]
        if not fair:  # long sentences only (or verse): a piece of one, cut between words
            pieces = [piece for s, e in spans for piece in split_long(text, s, e, GAP_CHARS)]
            fair = [(s, e) for s, e in pieces if len(text[s:e].split()) >= GAP_WORDS[0]] or pieces
        if not fair:
            return None
        sentence = reflow(text, *self.rng.choice(fair))
        frequency: dict[str, int] = {}
        for other in chapter_texts:
            for stem in set(lexical.stems(other)):
                frequency[stem] = frequency.get(stem, 0) + 1
        words = [w for w in re.findall(r"[^\W\d_]{4,}", sentence) if lexical.stems(w)]
        if not words:
            return None
        # The rarest content word in the chapter is the one a reader who read it would know.
        target = min(words, key=lambda w: (frequency.get(lexical.stems(w)[0], 0), -len(w)))
        gapped = re.sub(rf"\b{re.escape(target)}\b", GAP, sentence, count=1)
        return StudyQuestion(chunk.book_id, chunk.seq, place, chunk.page, gapped, target, chunk.text, "gap")


def _input_tokens(passage_chars: int) -> int:
    return (passage_chars + PROMPT_EXTRA_CHARS) // CHARS_PER_TOKEN


def _chapter_label(chapters: Sequence[Chapter], chunk: Chunk) -> str | None:
    """The chapter as the reader is shown it ("VOLUME II, CHAPTER I" where the title repeats)."""
    return next((c.label for c in chapters if c.holds(chunk)), chunk.chapter)


def _overlap_verdict(expected: str, reply: str) -> Verdict:
    wanted = set(lexical.stems(expected))
    got = set(lexical.stems(reply))
    if not wanted:
        return "wrong"
    share = len(wanted & got) / len(wanted)
    return "correct" if share >= 0.99 else "partly" if share >= 0.5 else "wrong"
