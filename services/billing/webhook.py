"""YooKassa's HTTP notifications: an aiohttp route that trusts nothing it is told.

The sender's address must be in YooKassa's published ranges (YOOKASSA_TRUSTED_NETWORKS); X-Forwarded-For
is believed only when the direct peer is one of our own proxies (YOOKASSA_TRUSTED_PROXIES). The body only
names a payment: its status, amount and order are re-read from the API before anything is credited.
Answers: 200 once handled or deliberately ignored, 403 for a stranger, 400 for a malformed body, 503 when
the API cannot be asked (YooKassa then delivers again later, so nothing is lost).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable, Sequence
from json import JSONDecodeError

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.billing.yookassa import PaymentEvent, YooKassaPayments, YooKassaUnavailable

logger = logging.getLogger(__name__)

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
EventSink = Callable[[PaymentEvent], Awaitable[None]]


def parse_networks(values: Sequence[str]) -> list[IPNetwork]:
    return [ipaddress.ip_network(value.strip(), strict=False) for value in values if value.strip()]


def _address(value: str | None) -> IPAddress | None:
    if not value:
        return None
    try:
        address = ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def sender_address(
    peer: str | None, forwarded_for: str | None, trusted_proxies: Sequence[IPNetwork]
) -> IPAddress | None:
    """Who really sent the request: the direct peer, or, when that peer is one of our proxies, the
    nearest address in X-Forwarded-For that is not one of our proxies (read from the right: the left
    part is whatever the client claimed)."""
    address = _address(peer)
    if address is None or not forwarded_for or not _within(address, trusted_proxies):
        return address
    for hop in reversed(forwarded_for.split(",")):
        hop_address = _address(hop)
        if hop_address is None:
            return None
        if not _within(hop_address, trusted_proxies):
            return hop_address
    return address


def _within(address: IPAddress, networks: Sequence[IPNetwork]) -> bool:
    return any(address.version == network.version and address in network for network in networks)


class YooKassaWebhook:
    """The notification endpoint; `handle` is the aiohttp handler."""

    def __init__(
        self,
        payments: YooKassaPayments,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        trusted_networks: Sequence[str],
        trusted_proxies: Sequence[str] = (),
        on_event: EventSink | None = None,
    ) -> None:
        self.payments = payments
        self.session_factory = session_factory
        self.trusted_networks = parse_networks(trusted_networks)
        self.trusted_proxies = parse_networks(trusted_proxies)
        self.on_event = on_event

    async def handle(self, request: web.Request) -> web.Response:
        sender = sender_address(request.remote, request.headers.get("X-Forwarded-For"), self.trusted_proxies)
        if sender is None or not _within(sender, self.trusted_networks):
            logger.warning(
                "YooKassa notification from an untrusted address %s (peer %s)", sender, request.remote
            )
            return web.json_response({"ok": False}, status=403)
        try:
            body = await request.json()
        except (JSONDecodeError, UnicodeDecodeError, ValueError):
            return web.json_response({"ok": False, "error": "not json"}, status=400)
        if not isinstance(body, dict) or not isinstance(body.get("object"), dict):
            return web.json_response({"ok": False, "error": "no object"}, status=400)
        event = str(body.get("event") or "")
        if not event.startswith("payment."):
            return web.json_response({"ok": True, "ignored": event})
        payment_id = body["object"].get("id")
        if not isinstance(payment_id, str) or not payment_id or len(payment_id) > 64:
            return web.json_response({"ok": False, "error": "no payment id"}, status=400)
        try:
            async with self.session_factory() as session:
                outcome = await self.payments.process_notification(session, payment_id)
        except YooKassaUnavailable as error:
            logger.warning("YooKassa notification for %s not settled yet: %s", payment_id, error)
            return web.json_response({"ok": False, "error": "try again"}, status=503)
        if self.on_event is not None:
            try:
                await self.on_event(outcome)
            except Exception:
                logger.exception("telling the user about YooKassa payment %s failed", payment_id)
        return web.json_response({"ok": True, "result": outcome.kind})
