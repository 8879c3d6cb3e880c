"""A fake YooKassa API v3 for the real `yookassa` SDK: payments with Idempotence-Key semantics.

Speaks `POST /v3/payments` (Basic auth shop_id:secret_key; `Idempotence-Key` required: the same key with
the same body returns the same payment, with another body answers 400) and `GET /v3/payments/{id}`
(404 for an unknown id). Errors are YooKassa's `{"type": "error", "id", "code", "description"}`.
Tests script the rest: `set_status(id, "succeeded" | "canceled" | "waiting_for_capture")`,
`set_amount(id, "1.00")` (a payment that no longer matches its order), `hang` (requests never answer),
`fail_next(n, status)` and `notification(id)` (the webhook body YooKassa would POST).
Point the SDK at it with YOOKASSA_API_URL = `server.api_url`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

EVENTS = {
    "succeeded": "payment.succeeded",
    "canceled": "payment.canceled",
    "waiting_for_capture": "payment.waiting_for_capture",
}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class FakeYooKassaServer:
    def __init__(
        self, shop_id: str = "123456", secret_key: str = "test_secret", host: str = "127.0.0.1"
    ) -> None:
        self.shop_id = shop_id
        self.secret_key = secret_key
        self.host = host
        self.port = 0
        self.payments: dict[str, dict[str, Any]] = {}
        self.by_key: dict[str, tuple[str, str]] = {}  # Idempotence-Key -> (body, payment id)
        self.requests: list[tuple[str, str, dict[str, Any] | None]] = []
        self.create_calls = 0
        self.hang = False
        self._failures: list[int] = []
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """What YOOKASSA_API_URL is set to."""
        return f"{self.url}/v3"

    async def __aenter__(self) -> FakeYooKassaServer:
        app = web.Application()
        app.router.add_post("/v3/payments", self._create)
        app.router.add_get("/v3/payments/{payment_id}", self._get)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- scripting ------------------------------------------------------------------------------

    def release(self) -> None:
        """Let hanging requests go on (they then complete as usual) and stop hanging new ones."""
        self.hang = False
        self._release.set()
        self._release = asyncio.Event()

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        self._failures.extend([status] * count)

    def set_status(
        self, payment_id: str, status: str, *, reason: str = "expired_on_confirmation"
    ) -> dict[str, Any]:
        payment = self.payments[payment_id]
        payment["status"] = status
        payment["paid"] = status in ("succeeded", "waiting_for_capture")
        if status == "succeeded":
            payment["captured_at"] = _now()
            payment["income_amount"] = dict(payment["amount"])
            payment["payment_method"] = {
                "type": "bank_card",
                "id": payment_id,
                "saved": False,
                "title": "Bank card *4444",
            }
        if status == "canceled":
            payment["cancellation_details"] = {"party": "yoo_money", "reason": reason}
        return payment

    def set_amount(self, payment_id: str, value: str, currency: str = "RUB") -> None:
        self.payments[payment_id]["amount"] = {"value": value, "currency": currency}

    def notification(self, payment_id: str, event: str | None = None) -> dict[str, Any]:
        """The body of the notification YooKassa sends for the payment's current status."""
        payment = self.payments.get(payment_id) or {"id": payment_id, "status": "succeeded", "paid": True}
        return {
            "type": "notification",
            "event": event or EVENTS.get(payment["status"], "payment.succeeded"),
            "object": json.loads(json.dumps(payment)),
        }

    def payment_for_order(self, order_id: int | str) -> dict[str, Any]:
        for payment in self.payments.values():
            if str(payment.get("metadata", {}).get("order_id")) == str(order_id):
                return payment
        raise KeyError(order_id)

    # --- the API --------------------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> bool:
        token = base64.b64encode(f"{self.shop_id}:{self.secret_key}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {token}"

    async def _prelude(self, request: web.Request) -> web.Response | None:
        if self.hang:
            # Like the real API, a request the client gave up on is still carried out once released.
            await self._release.wait()
        if self._failures:
            status = self._failures.pop(0)
            return _error(status, "internal_server_error", "Internal server error")
        if not self._authorized(request):
            return _error(401, "invalid_credentials", "Login or password are incorrect")
        return None

    async def _create(self, request: web.Request) -> web.Response:
        raw = await request.text()
        body: dict[str, Any] = json.loads(raw) if raw else {}
        self.requests.append(("POST", request.path, body))
        early = await self._prelude(request)
        if early is not None:
            return early
        key = request.headers.get("Idempotence-Key")
        if not key:
            return _error(400, "invalid_request", "Idempotence-Key header is missing")
        canonical = json.dumps(body, sort_keys=True)
        if key in self.by_key:
            seen_body, payment_id = self.by_key[key]
            if seen_body != canonical:
                return _error(400, "invalid_request", "Idempotence key duplicated with another request body")
            return web.json_response(self.payments[payment_id])
        amount = body.get("amount") or {}
        if not amount.get("value") or amount.get("currency") != "RUB":
            return _error(400, "invalid_request", "Invalid amount", parameter="amount")
        receipt = body.get("receipt")
        if receipt is not None:
            for item in receipt.get("items", []):
                if "vat_code" not in item:
                    return _error(
                        400, "invalid_request", "vat_code is missing", parameter="receipt.items.vat_code"
                    )
        self.create_calls += 1
        payment_id = f"{uuid.uuid4().hex[:8]}-000f-5000-a000-{uuid.uuid4().hex[:12]}"
        payment: dict[str, Any] = {
            "id": payment_id,
            "status": "pending",
            "paid": False,
            "amount": {"value": str(amount["value"]), "currency": "RUB"},
            "confirmation": {
                "type": "redirect",
                "confirmation_url": f"{self.url}/checkout/{payment_id}",
                "return_url": (body.get("confirmation") or {}).get("return_url"),
            },
            "created_at": _now(),
            "description": body.get("description", ""),
            "metadata": body.get("metadata", {}),
            "recipient": {"account_id": self.shop_id, "gateway_id": "100500"},
            "refundable": False,
            "test": True,
        }
        if receipt is not None:
            payment["receipt_registration"] = "pending"
        self.payments[payment_id] = payment
        self.by_key[key] = (canonical, payment_id)
        return web.json_response(payment)

    async def _get(self, request: web.Request) -> web.Response:
        payment_id = request.match_info["payment_id"]
        self.requests.append(("GET", request.path, None))
        early = await self._prelude(request)
        if early is not None:
            return early
        payment = self.payments.get(payment_id)
        if payment is None:
            return _error(404, "not_found", "Incorrect payment_id. Payment doesn't exist or access denied.")
        return web.json_response(payment)


def _error(status: int, code: str, description: str, *, parameter: str | None = None) -> web.Response:
    body: dict[str, Any] = {
        "type": "error",
        "id": str(uuid.uuid4()),
        "code": code,
        "description": description,
    }
    if parameter:
        body["parameter"] = parameter
    return web.json_response(body, status=status)
