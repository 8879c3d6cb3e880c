"""YooKassa card payments: the SDK kept off the event loop, orders paid exactly once.

- `YooKassaGateway` runs the synchronous `yookassa` SDK in its own small thread pool with a deadline on
  every call (`asyncio.wait_for`) and a requests timeout inside (the SDK sets none), so a hanging API
  neither blocks the loop nor waits forever. It talks to YOOKASSA_API_URL (tests: a local fake).
- `YooKassaPayments` creates a payment per order with an Idempotence-Key stored on the order before the
  first attempt (a retry, ours or the SDK's, never makes a second payment), and settles orders only
  from what the API itself says when asked: a notification is just a hint to re-read the payment.
  Status, amount, currency and order are checked before crediting; the order book credits once per
  payment id however many times, in whatever order, the hints arrive. `recheck_pending` re-reads
  orders left pending.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace
from typing import Any, Literal, TypeVar

import requests
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from urllib3 import Retry

from db.base import parse_number, utcnow
from db.models.billing import PaymentOrder
from services.billing.orders import Fulfilment, OrderBook
from services.billing.plans import RUB
from services.billing.service import BillingService
from services.config import ServiceSettings

logger = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_API_URL = "https://api.yookassa.ru/v3"
# A card payment left unpaid this long is not offered again: a new tap makes a new order.
REUSE_PENDING_FOR = timedelta(minutes=30)


class YooKassaError(Exception):
    """Base of the gateway's errors."""


class YooKassaUnavailable(YooKassaError):
    """The API did not answer in time, or failed on its side: try again later."""


class YooKassaRejected(YooKassaError):
    """The API refused the request (4xx); `code` is YooKassa's error code."""

    def __init__(self, status: int, code: str, description: str = "") -> None:
        self.status = status
        self.code = code
        super().__init__(f"YooKassa {status} {code}: {description}")


class _TimedSession(requests.Session):
    """A requests session that never waits forever: the SDK passes no timeout of its own."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self._timeout)
        return super().request(*args, **kwargs)


def _sdk_client(shop_id: str, secret_key: str, api_url: str, timeout: float) -> Any:
    """The SDK's ApiClient for one shop and URL, with a network timeout."""
    from requests.adapters import HTTPAdapter
    from yookassa.client import ApiClient
    from yookassa.domain.common import UserAgent

    class Client(ApiClient):  # type: ignore[misc]
        def __init__(self) -> None:
            # ApiClient.__init__ reads the SDK's process-wide Configuration; this client carries its own.
            self.configuration = SimpleNamespace(verify=None)
            self.endpoint = api_url.rstrip("/")
            self.shop_id = shop_id
            self.shop_password = secret_key
            self.auth_token = None
            self.timeout = 1800  # ms: the SDK's pause between retries of a 202 (request in progress)
            self.max_attempts = 3
            self.user_agent = UserAgent()

        def get_session(self) -> requests.Session:
            session = _TimedSession(timeout)
            retries = Retry(total=self.max_attempts, backoff_factor=self.timeout / 1000,
                            allowed_methods=["POST"], status_forcelist=[202])  # fmt: skip
            adapter = HTTPAdapter(max_retries=retries)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            return session

    return Client()


class YooKassaGateway:
    """The YooKassa API through its SDK, asynchronously and always with a deadline."""

    def __init__(
        self,
        shop_id: str,
        secret_key: str,
        *,
        api_url: str | None = None,
        timeout: float = 15.0,
        workers: int = 4,
    ) -> None:
        from yookassa import Configuration

        self.api_url = (api_url or DEFAULT_API_URL).rstrip("/")
        self.timeout = timeout
        self._shop_id = shop_id
        self._secret_key = secret_key
        # Anything else that uses the SDK directly talks to the same shop and server.
        Configuration.configure(shop_id, secret_key, api_url=self.api_url)
        # Own threads: calls stuck on a dead network must not starve the loop's default executor.
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="yookassa")

    async def create_payment(self, body: dict[str, Any], idempotence_key: str) -> dict[str, Any]:
        """POST /payments with the Idempotence-Key: the same key always yields the same payment."""
        from yookassa.domain.common import HttpVerb
        from yookassa.domain.request import PaymentRequest

        def call() -> dict[str, Any]:
            client = self._client()
            result: dict[str, Any] = client.request(
                HttpVerb.POST, "/payments", None, {"Idempotence-Key": idempotence_key}, PaymentRequest(body)
            )
            return result

        return await self._run(call)

    async def get_payment(self, payment_id: str) -> dict[str, Any]:
        """GET /payments/{id}: the payment as YooKassa knows it now."""
        from yookassa.domain.common import HttpVerb

        if not payment_id or "/" in payment_id or len(payment_id) > 64:
            raise YooKassaRejected(400, "invalid_payment_id")

        def call() -> dict[str, Any]:
            result: dict[str, Any] = self._client().request(HttpVerb.GET, f"/payments/{payment_id}")
            return result

        return await self._run(call)

    async def aclose(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _client(self) -> Any:
        return _sdk_client(self._shop_id, self._secret_key, self.api_url, self.timeout)

    async def _run(self, call: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, _translate_errors, call)
        try:
            # The requests timeout bounds each attempt; this bounds the whole call, retries included.
            return await asyncio.wait_for(future, timeout=self.timeout * 2 + 1)
        except TimeoutError:
            raise YooKassaUnavailable("YooKassa did not answer in time") from None


def _translate_errors(call: Callable[[], T]) -> T:
    from yookassa.domain.exceptions import ApiError

    try:
        return call()
    except ApiError as error:
        status = int(getattr(error, "HTTP_CODE", 0) or 0)
        content = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
        if status in (400, 401, 403, 404, 405, 415):
            raise YooKassaRejected(
                status, str(content.get("code", "error")), str(content.get("description", ""))
            ) from None
        raise YooKassaUnavailable(f"YooKassa answered {status or 'an error'}: {content}") from None
    except (ValueError, TypeError, KeyError) as error:
        raise YooKassaRejected(0, "invalid_request", str(error)) from None
    except Exception as error:
        # The SDK turns a timeout or a refused connection into an AttributeError on a missing response.
        raise YooKassaUnavailable(f"YooKassa is unreachable: {type(error).__name__}") from None


def kopecks_from(value: Any) -> int | None:
    """ "399.00" -> 39900; None for anything that is not a whole number of kopecks."""
    try:
        amount = Decimal(str(value)) * 100
    except (InvalidOperation, ValueError):
        return None
    if amount != amount.to_integral_value() or amount < 0:
        return None
    return int(amount)


def rubles(kopecks: int) -> str:
    """39900 -> "399.00" (YooKassa takes amounts as strings)."""
    return f"{kopecks // 100}.{kopecks % 100:02d}"


@dataclass(frozen=True, slots=True)
class CardPayment:
    """A card payment to confirm: open `confirmation_url` (None: the API is unreachable; try again)."""

    order: PaymentOrder
    confirmation_url: str | None


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    """What re-reading one payment did, for telling the user.

    `credited`: paid and granted now; `canceled`: canceled now (tell the user once); `duplicate`:
    nothing new; `pending`: not decided yet; `ignored`: not one of ours; `rejected`: it does not match its
    order (nothing granted; logged for a human)."""

    kind: Literal["credited", "canceled", "duplicate", "pending", "ignored", "rejected"]
    payment_id: str
    order: PaymentOrder | None = None
    fulfilment: Fulfilment | None = None
    reason: str | None = None

    @property
    def user_id(self) -> int | None:
        return self.order.user_id if self.order is not None else None


class YooKassaPayments:
    def __init__(
        self, billing: BillingService, orders: OrderBook, gateway: YooKassaGateway, settings: ServiceSettings
    ) -> None:
        self.billing = billing
        self.orders = orders
        self.gateway = gateway
        self.settings = settings

    # --- paying ---------------------------------------------------------------------------------

    async def start(
        self,
        session: AsyncSession,
        user_id: int,
        product_code: str,
        *,
        email: str | None = None,
        phone: str | None = None,
        now: datetime | None = None,
    ) -> CardPayment | None:
        """A card payment for the product (None: no such product). A recent unpaid order for the same
        product is reused, so a double tap makes one payment. Commits the order (with its idempotence
        key) before calling the API; raises YooKassaUnavailable / YooKassaRejected when the API fails,
        and a later call retries with the same key."""
        now = now or utcnow()
        product = self.billing.catalog.product(product_code)
        if product is None or product.kopecks <= 0:
            return None
        order = await session.scalar(
            select(PaymentOrder)
            .where(
                PaymentOrder.user_id == user_id,
                PaymentOrder.provider == "yookassa",
                PaymentOrder.product == product.code,
                PaymentOrder.status == "pending",
                PaymentOrder.created_at >= now - REUSE_PENDING_FOR,
            )
            .order_by(PaymentOrder.id.desc())
            .limit(1)
        )
        if order is None:
            order = await self.orders.create(session, user_id, product, "yookassa", now=now)
            order.idempotence_key = uuid.uuid4().hex
            await session.commit()
        if order.confirmation_url:
            return CardPayment(order, order.confirmation_url)
        await self._create_remote(session, order, email=email, phone=phone)
        return CardPayment(order, order.confirmation_url)

    async def _create_remote(
        self,
        session: AsyncSession,
        order: PaymentOrder,
        *,
        email: str | None = None,
        phone: str | None = None,
    ) -> None:
        assert order.idempotence_key
        data = await self.gateway.create_payment(
            self.payment_body(order, email=email, phone=phone), order.idempotence_key
        )
        order.provider_payment_id = str(data.get("id"))
        order.confirmation_url = (data.get("confirmation") or {}).get("confirmation_url")
        order.updated_at = utcnow()
        await session.commit()

    def payment_body(
        self, order: PaymentOrder, *, email: str | None = None, phone: str | None = None
    ) -> dict[str, Any]:
        """The payment request: the same order always gives the same body (the idempotence key expects it)."""
        value = {"value": rubles(order.amount), "currency": RUB}
        description = f"Librarity {order.product} (order {order.id})"
        body: dict[str, Any] = {
            "amount": value,
            "capture": True,
            "confirmation": {"type": "redirect", "return_url": self.settings.yookassa_return_url},
            "description": description[:128],
            "metadata": {"order_id": str(order.id), "payload": order.payload, "user_id": str(order.user_id)},
        }
        receipt = self.receipt(order, value, description, email=email, phone=phone)
        if receipt is not None:
            body["receipt"] = receipt
        return body

    def receipt(
        self,
        order: PaymentOrder,
        value: dict[str, str],
        description: str,
        *,
        email: str | None,
        phone: str | None,
    ) -> dict[str, Any] | None:
        """The 54-FZ receipt: one item with vat_code, payment_subject and payment_mode from settings.
        The customer's contact is optional: the shop's receipt email stands in; with neither, no receipt
        (YooKassa requires a contact) and a warning in the log."""
        settings = self.settings
        if not settings.yookassa_receipt_enabled:
            return None
        customer: dict[str, str] = {}
        if email or phone:
            customer = {"email": email} if email else {"phone": phone or ""}
        elif settings.yookassa_receipt_email:
            customer = {"email": settings.yookassa_receipt_email}
        else:
            logger.warning(
                "order %s: no receipt contact (set YOOKASSA_RECEIPT_EMAIL); paying without a receipt",
                order.id,
            )
            return None
        receipt: dict[str, Any] = {
            "customer": customer,
            "items": [
                {
                    "description": description[:128],
                    "quantity": "1.00",
                    "amount": value,
                    "vat_code": settings.yookassa_vat_code,
                    "payment_subject": settings.yookassa_payment_subject,
                    "payment_mode": settings.yookassa_payment_mode,
                }
            ],
        }
        if settings.yookassa_tax_system_code is not None:
            receipt["tax_system_code"] = settings.yookassa_tax_system_code
        return receipt

    # --- settling -------------------------------------------------------------------------------

    async def process_notification(
        self, session: AsyncSession, payment_id: str, now: datetime | None = None
    ) -> PaymentEvent:
        """A notification named `payment_id`: re-read it from the API and settle its order. Raises
        YooKassaUnavailable when the API cannot be asked (answer 5xx so YooKassa delivers again)."""
        try:
            data = await self.gateway.get_payment(payment_id)
        except YooKassaRejected as error:
            logger.warning("notification for payment %r that YooKassa does not know: %s", payment_id, error)
            return PaymentEvent("ignored", payment_id, reason="unknown_payment")
        return await self.apply(session, data, now=now)

    async def apply(
        self, session: AsyncSession, data: dict[str, Any], now: datetime | None = None
    ) -> PaymentEvent:
        """Settle the order of a payment object read from the API. Commits."""
        now = now or utcnow()
        payment_id = str(data.get("id") or "")
        metadata = data.get("metadata") or {}
        order = await session.scalar(
            select(PaymentOrder).where(PaymentOrder.provider_payment_id == payment_id)
        )
        if order is None:
            order = await self._order_from_metadata(session, payment_id, metadata)
        if order is None:
            logger.warning("YooKassa payment %s belongs to no order of ours", payment_id)
            return PaymentEvent("ignored", payment_id, reason="unknown_payment")
        if str(metadata.get("order_id")) != str(order.id) or metadata.get("payload") != order.payload:
            logger.error(
                "YooKassa payment %s: metadata %r does not name order %s", payment_id, metadata, order.id
            )
            return PaymentEvent("rejected", payment_id, order, reason="order_mismatch")
        order.checked_at = now
        status = data.get("status")
        if status == "succeeded":
            return await self._succeeded(session, order, data, now)
        if status == "canceled":
            claimed = await session.execute(
                update(PaymentOrder)
                .where(PaymentOrder.id == order.id, PaymentOrder.status == "pending")
                .values(status="canceled", updated_at=now),
                execution_options={"synchronize_session": False},
            )
            await session.commit()
            await session.refresh(order)
            reason = str((data.get("cancellation_details") or {}).get("reason") or "")
            kind: Literal["canceled", "duplicate"] = "canceled" if claimed.rowcount else "duplicate"  # type: ignore[attr-defined]
            return PaymentEvent(kind, payment_id, order, reason=reason or None)
        await session.commit()
        return PaymentEvent("pending", payment_id, order, reason=str(status))

    async def _succeeded(
        self, session: AsyncSession, order: PaymentOrder, data: dict[str, Any], now: datetime
    ) -> PaymentEvent:
        payment_id = str(data["id"])
        amount = data.get("amount") or {}
        kopecks = kopecks_from(amount.get("value"))
        if data.get("paid") is not True:
            await session.commit()
            return PaymentEvent("rejected", payment_id, order, reason="not_paid")
        if amount.get("currency") != order.currency or kopecks != order.amount:
            logger.error(
                "YooKassa payment %s: %s %s does not match order %s (%s %s); not credited",
                payment_id, amount.get("value"), amount.get("currency"), order.id, order.amount, order.currency,
            )  # fmt: skip
            await session.commit()
            return PaymentEvent("rejected", payment_id, order, reason="amount_mismatch")
        fulfilment = await self.orders.fulfil(
            session, order, charge_id=payment_id, amount=kopecks, currency=RUB, now=now
        )
        await session.commit()
        kind: Literal["credited", "duplicate", "rejected"] = fulfilment.status
        return PaymentEvent(kind, payment_id, order, fulfilment)

    async def _order_from_metadata(
        self, session: AsyncSession, payment_id: str, metadata: dict[str, Any]
    ) -> PaymentOrder | None:
        """The order of a payment whose id we never stored (the create call timed out after YooKassa
        made it): found by the metadata we sent, and only if it names no other payment."""
        order_id = parse_number(str(metadata.get("order_id") or ""))
        if order_id is None:
            return None
        order = await session.get(PaymentOrder, order_id)
        if order is None or order.provider != "yookassa" or order.payload != metadata.get("payload"):
            return None
        if order.provider_payment_id not in (None, payment_id):
            return None
        order.provider_payment_id = payment_id
        await session.flush()
        return order

    async def recheck_pending(
        self, session: AsyncSession, now: datetime | None = None, *, batch: int = 100
    ) -> list[PaymentEvent]:
        """Re-read card orders left pending (older than YOOKASSA_RECHECK_AFTER_MINUTES): settle the paid,
        close the canceled, finish creating payments whose creation timed out (same idempotence key), and
        give up on orders older than YOOKASSA_ORDER_TTL_HOURS. The jobs feature runs it every few minutes;
        an unreachable API just leaves the order for the next run. Commits."""
        now = now or utcnow()
        settings = self.settings
        due = now - timedelta(minutes=settings.yookassa_recheck_after_minutes)
        expired_before = now - timedelta(hours=settings.yookassa_order_ttl_hours)
        rows = (
            await session.execute(
                select(PaymentOrder.id, PaymentOrder.created_at)
                .where(
                    PaymentOrder.provider == "yookassa",
                    PaymentOrder.status == "pending",
                    PaymentOrder.created_at <= due,
                )
                .order_by(PaymentOrder.id)
                .limit(batch)
            )
        ).all()
        events: list[PaymentEvent] = []
        for order_id, created_at in rows:
            order = await session.get(PaymentOrder, order_id)
            if order is None or order.status != "pending":
                continue
            try:
                if order.provider_payment_id is None:
                    await self._create_remote(session, order)
                data = await self.gateway.get_payment(order.provider_payment_id or "")
                event = await self.apply(session, data, now=now)
            except (YooKassaUnavailable, YooKassaRejected) as error:
                logger.warning("re-checking order %s failed: %s", order_id, error)
                await session.rollback()
                continue
            if event.kind == "pending" and created_at <= expired_before:
                await session.execute(
                    update(PaymentOrder)
                    .where(PaymentOrder.id == order_id, PaymentOrder.status == "pending")
                    .values(status="expired", updated_at=now),
                    execution_options={"synchronize_session": False},
                )
                await session.commit()
            events.append(event)
        return events
