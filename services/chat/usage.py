"""Records every LLM call's usage in `llm_usage`: the router's usage sink.

Requests carry tags (`user_id`, `book_id`, `purpose`) that come back on the usage; the recorder
writes one row per call in its own short transaction, because the router calls it from inside a
stream, independent of any update's session. Credits and analytics read the table.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import LLMUsageRecord
from services.llm import LLMUsage

logger = logging.getLogger(__name__)


def _int_tag(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload, no-any-return]
    except (TypeError, ValueError):
        return None


class UsageRecorder:
    """`await recorder(usage)` stores one call; pass it as `build_router(..., usage_sink=recorder)`."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory

    async def __call__(self, usage: LLMUsage) -> None:
        tags = usage.tags
        record = LLMUsageRecord(
            user_id=_int_tag(tags.get("user_id")),
            book_id=_int_tag(tags.get("book_id")),
            provider=usage.provider,
            model=usage.model[:128],
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cost_usd=usage.cost_usd,
            purpose=str(tags.get("purpose", "answer"))[:32],
        )
        async with self.session_factory() as session:
            session.add(record)
            await session.commit()

    async def totals(
        self, session: AsyncSession, user_id: int | None = None, *, since: datetime | None = None
    ) -> tuple[int, int, float]:
        """(input tokens, output tokens, cost in USD), for one user or everyone."""
        query = select(
            func.coalesce(func.sum(LLMUsageRecord.input_tokens), 0),
            func.coalesce(func.sum(LLMUsageRecord.output_tokens), 0),
            func.coalesce(func.sum(LLMUsageRecord.cost_usd), 0.0),
        )
        if user_id is not None:
            query = query.where(LLMUsageRecord.user_id == user_id)
        if since is not None:
            query = query.where(LLMUsageRecord.created_at >= since)
        row = (await session.execute(query)).one()
        return int(row[0]), int(row[1]), float(row[2])
