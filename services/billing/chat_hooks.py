"""Billing's part in answering and summarising, installed on the chat's services at start-up.

Every answer first holds one of today's questions and what it may cost (AnswerService.charges.hold,
committed before the LLM is called, so concurrent questions cannot pass the limits or go unpaid), then is
settled inside the transaction that records it: by its recorded token usage, nothing when cached, the
extractive price when the LLM failed and the answer fell back to quoting the book, everything given back
when no answer was made. A whole-book LLM summary is charged BILLING_SUMMARY_CREDITS in the transaction
that stores it (SummaryService.before_store); LLM chapter summaries, study questions and study checks are
held and settled like answers (services.chat.charging); extractive summaries and gap questions are free.
When a charge crosses this period's warning threshold, the one low-credits warning goes out once the
transaction has committed.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from services.billing.ingestion_hooks import BillingNotices
from services.billing.service import AnswerHold, BillingService

logger = logging.getLogger(__name__)


class AnswerBilling:
    def __init__(self, billing: BillingService, notices: BillingNotices | None = None) -> None:
        self.billing = billing
        self.notices = notices
        self._tasks: set[asyncio.Task[None]] = set()

    async def hold(
        self, session: AsyncSession, user_id: int, *, input_tokens: int, output_tokens: int, question: bool
    ) -> AnswerHold:
        """Before an answer is made: one of today's questions and what it may cost (AnswerService commits
        this before it calls the LLM)."""
        return await self.billing.hold_answer(
            session, user_id, uuid.uuid4().hex, input_tokens=input_tokens, output_tokens=output_tokens,
            question=question,
        )  # fmt: skip

    async def settle(self, session: AsyncSession, user_id: int, hold: AnswerHold, result: Any) -> None:
        """Charge `result` (services.chat.AnswerResult; None: not made) in the session that records it:
        by its usage, nothing when cached, the extractive price when every provider failed."""
        answered = result is not None and bool(getattr(result, "found", True))
        usage = list(getattr(result, "usage", None) or []) or None
        if getattr(result, "degraded", False):
            usage = None
        outcome = await self.billing.settle_answer(
            session, user_id, hold, usage, cached=bool(getattr(result, "cached", False)), answered=answered
        )
        if outcome.warn_low and self.notices is not None:
            self._after_commit(session, user_id, outcome.balance)

    async def models_for(self, session: AsyncSession, user_id: int) -> Mapping[str, str]:
        """The models of the user's plan, per provider (empty: each provider's configured model)."""
        return (await self.billing.limits(session, user_id)).models

    async def before_store(self, session: AsyncSession, user_id: int, summary: Any) -> None:
        """Charge for a computed whole-book LLM summary (services.chat.summaries.Summary) as it is stored,
        also of the part read so far ("book|read<40": spoiler-safe reading)."""
        scope = str(getattr(summary, "scope", "")).split("|", 1)[0]
        if scope != "book" or getattr(summary, "method", None) != "llm":
            return
        outcome = await self.billing.charge_for_summary(
            session, user_id, summary.book_id, uuid.uuid4().hex, already_made=True
        )
        if outcome.warn_low and self.notices is not None:
            self._after_commit(session, user_id, outcome.balance)

    def _after_commit(self, session: AsyncSession, user_id: int, balance: int) -> None:
        notices = self.notices
        assert notices is not None

        def send(_session: Any) -> None:
            task = asyncio.get_running_loop().create_task(notices.low_credits(user_id, balance))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        event.listen(session.sync_session, "after_commit", send, once=True)
