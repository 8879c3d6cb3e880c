"""Charging what else the model writes for a reader (a chapter summary, a study question and its check)
the way an answer is charged, through the same AnswerCharges that billing installs: hold what it may
cost and commit that before the model is called, then settle it to the real usage in the transaction
that records it, or give it all back when the model was not used after all."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.chat.types import AnswerCharges, Hold
from services.llm import LLMUsage


class ChargeRefused(Exception):
    """The plan or the balance says no (`refusal` is billing's Affordability): nothing was made."""

    def __init__(self, refusal: Any) -> None:
        super().__init__("charge refused")
        self.refusal = refusal


@dataclass(frozen=True, slots=True)
class ModelWork:
    """What the model did, settled like an answer by its usage."""

    usage: list[LLMUsage] = field(default_factory=list)


async def hold(
    charges: AnswerCharges | None,
    session: AsyncSession,
    user_id: int,
    *,
    input_tokens: int,
    output_tokens: int,
) -> Hold | None:
    """Hold the dearest this much model work can cost, and commit; ChargeRefused when it can't be paid
    (None: nothing is charged without billing)."""
    if charges is None:
        return None
    held = await charges.hold(
        session, user_id, input_tokens=input_tokens, output_tokens=output_tokens, question=False
    )
    await session.commit()
    if not held.ok:
        raise ChargeRefused(held.refusal)
    return held


async def settle(
    charges: AnswerCharges | None, session: AsyncSession, user_id: int, held: Hold | None, work: Any
) -> None:
    """Bring the hold to the price of `work` (its `usage`; None: the model was not used, all back), in
    the caller's transaction."""
    if charges is not None and held is not None:
        await charges.settle(session, user_id, held, work)


async def release(
    charges: AnswerCharges | None, session: AsyncSession, user_id: int, held: Hold | None
) -> None:
    """The work failed half-way: give back what was held, and commit."""
    if charges is None or held is None:
        return
    await session.rollback()
    await charges.settle(session, user_id, held, None)
    await session.commit()
