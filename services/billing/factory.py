"""The billing service with its payment providers, built from settings (used by the bot's wiring, the
admin's tools and tests)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.billing.orders import OrderBook
from services.billing.service import BillingService
from services.billing.stars import StarsPayments
from services.billing.yookassa import YooKassaGateway, YooKassaPayments
from services.config import ServiceSettings


def build_billing(
    settings: ServiceSettings, session_factory: async_sessionmaker[AsyncSession] | None = None
) -> BillingService:
    """The billing service with its order book, Stars, and YooKassa when YOOKASSA_SHOP_ID and
    YOOKASSA_SECRET_KEY are both set."""
    billing = BillingService(settings, session_factory=session_factory)
    billing.orders = OrderBook(billing)
    billing.stars = StarsPayments(billing, billing.orders)
    if settings.yookassa_shop_id and settings.yookassa_secret_key:
        gateway = YooKassaGateway(
            settings.yookassa_shop_id,
            settings.yookassa_secret_key.get_secret_value(),
            api_url=settings.yookassa_api_url,
            timeout=settings.yookassa_timeout_seconds,
        )
        billing.yookassa = YooKassaPayments(billing, billing.orders, gateway, settings)
    return billing
