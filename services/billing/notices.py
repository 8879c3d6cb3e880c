"""Payment notices: telling users about payments settled outside their chat and about refunds.

Who actually sends the message is wired in bot/wiring/billing.py (`on_payment_event`, `on_refund`);
this class only decides whether a notice is due and keeps a failed send from breaking the payment.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.billing.orders import RefundOutcome
    from services.billing.yookassa import PaymentEvent

logger = logging.getLogger(__name__)


class PaymentNotices:
    """Decides which payment events and refunds the user is told about, and tells them."""

    def __init__(
        self,
        on_payment_event: Callable[[PaymentEvent], Awaitable[None]] | None = None,
        on_refund: Callable[[RefundOutcome], Awaitable[None]] | None = None,
    ) -> None:
        self.on_payment_event = on_payment_event
        self.on_refund = on_refund

    async def announce(self, event: PaymentEvent) -> None:
        """Tell the user about a card payment settled outside the chat (credited, or canceled)."""
        if self.on_payment_event is None or event.kind not in ("credited", "canceled"):
            return
        try:
            await self.on_payment_event(event)
        except Exception:
            logger.exception("telling user %s about payment %s failed", event.user_id, event.payment_id)

    async def announce_refund(self, outcome: RefundOutcome, refunded_by: int) -> None:
        """Tell the user that an admin refunded their payment (/refund or the admin's Payments screen),
        unless Telegram's refunded_payment update already told them or the admin refunded their own."""
        if (
            self.on_refund is None
            or outcome.status != "refunded"
            or outcome.user_id is None
            or outcome.user_id == refunded_by
            or outcome.recorded_by_echo
        ):
            return
        try:
            await self.on_refund(outcome)
        except Exception:
            logger.exception("telling user %s about their refund failed", outcome.user_id)
