"""Billing's part in answering and summarising, installed on the chat's services at start-up.

Every answer is charged inside the transaction that records it (AnswerService.before_commit): by its
recorded token usage, nothing when cached, the extractive price when the LLM failed and the answer fell
back to quoting the book. A whole-book LLM summary is charged BILLING_SUMMARY_CREDITS in the transaction
that stores it (SummaryService.before_store); chapter summaries and the extractive fallback are free.
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
from services.billing.service import BillingService

logger = logging.getLogger(__name__)


class AnswerBilling:
    def __init__(self, billing: BillingService, notices: BillingNotices | None = None) -> None:
        self.billing = billing
        self.notices = notices
        self._tasks: set[asyncio.Task[None]] = set()

    async def before_commit(self, session: AsyncSession, user_id: int, result: Any) -> None:
        """Charge for `result` (services.chat.AnswerResult) in the session that records it."""
        if not getattr(result, "found", True):
            return
        turn_id = getattr(result, "turn_id", None)
        ref = f"turn:{turn_id}" if turn_id is not None else f"answer:{uuid.uuid4().hex}"
        # A degraded answer is the extractive fallback after every provider failed: priced as extractive.
        usage = list(getattr(result, "usage", None) or []) or None
        if getattr(result, "degraded", False):
            usage = None
        outcome = await self.billing.charge_for_answer(
            session, user_id, usage, ref, cached=bool(getattr(result, "cached", False))
        )
        if outcome.warn_low and self.notices is not None:
            self._after_commit(session, user_id, outcome.balance)

    async def models_for(self, session: AsyncSession, user_id: int) -> Mapping[str, str]:
        """The models of the user's plan, per provider (empty: each provider's configured model)."""
        return (await self.billing.limits(session, user_id)).models

    async def before_store(self, session: AsyncSession, user_id: int, summary: Any) -> None:
        """Charge for a computed whole-book LLM summary (services.chat.summaries.Summary) as it is stored."""
        if getattr(summary, "scope", None) != "book" or getattr(summary, "method", None) != "llm":
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
