"""Invoices and Telegram Stars: sendInvoice, invoice links (subscriptions), pre-checkout answers, refunds."""

from __future__ import annotations

import time
from typing import Any

from bot.sandbox.errors import QUERY_TOO_OLD, bad_request
from bot.sandbox.markup import parse_markup
from bot.sandbox.methods.common import send, target_chat
from bot.sandbox.methods.registry import method
from bot.sandbox.models import Invoice, Json, Payment
from bot.sandbox.params import Params
from bot.sandbox.world import SandboxWorld

STARS = "XTR"
SUBSCRIPTION_PERIOD = 30 * 24 * 3600
MAX_SUBSCRIPTION_STARS = 10_000
_EXTRA_FIELDS = (
    "start_parameter", "photo_url", "need_name", "need_email", "need_phone_number", "is_flexible",
    "max_tip_amount", "provider_data",
)  # fmt: skip


def _prices(value: Any) -> list[Json]:
    if not isinstance(value, list) or not value:
        raise bad_request("can't parse prices JSON object")
    for price in value:
        if not isinstance(price, dict) or not isinstance(price.get("label"), str):
            raise bad_request("can't parse prices JSON object")
        if not isinstance(price.get("amount"), int) or price["amount"] <= 0:
            raise bad_request("CURRENCY_TOTAL_AMOUNT_INVALID")
    return [{"label": p["label"], "amount": p["amount"]} for p in value]


def parse_invoice(params: Params) -> Invoice:
    title = params.get_str("title") or ""
    description = params.get_str("description") or ""
    payload = params.get_str("payload") or ""
    currency = (params.get_str("currency") or "").upper()
    if not 1 <= len(title) <= 32:
        raise bad_request("INVOICE_TITLE_INVALID" if title else "title is empty")
    if not 1 <= len(description) <= 255:
        raise bad_request("INVOICE_DESCRIPTION_INVALID" if description else "description is empty")
    if not 1 <= len(payload.encode("utf-8")) <= 128:
        raise bad_request("PAYLOAD_INVALID")
    if len(currency) != 3:
        raise bad_request("CURRENCY_INVALID")
    prices = _prices(params.get_json("prices"))
    provider_token = params.get_str("provider_token") or ""
    if currency == STARS:
        if provider_token:
            raise bad_request("PROVIDER_TOKEN_INVALID: Stars invoices take an empty provider_token")
        if len(prices) != 1:
            raise bad_request("STARS_INVOICE_INVALID: Stars invoices take exactly one price")
    elif not provider_token:
        raise bad_request("PAYMENT_PROVIDER_INVALID")
    period = params.get_int("subscription_period")
    if period is not None:
        if period != SUBSCRIPTION_PERIOD:
            raise bad_request("SUBSCRIPTION_PERIOD_INVALID")
        if currency != STARS or prices[0]["amount"] > MAX_SUBSCRIPTION_STARS:
            raise bad_request("SUBSCRIPTION_INVALID: subscriptions are paid in Stars, up to 10000")
    extra = {key: params.values[key] for key in _EXTRA_FIELDS if params.has(key)}
    return Invoice(title, description, payload, currency, prices, period, provider_token, extra)


def invoice_json(invoice: Invoice) -> Json:
    return {
        "title": invoice.title,
        "description": invoice.description,
        "start_parameter": str(invoice.extra.get("start_parameter", "")),
        "currency": invoice.currency,
        "total_amount": invoice.total_amount,
    }


@method("sendInvoice", paced=True)
async def send_invoice(world: SandboxWorld, params: Params) -> Json:
    chat = target_chat(world, params)
    if params.has("subscription_period"):
        raise bad_request("subscription_period is supported only by createInvoiceLink")
    invoice = parse_invoice(params)
    markup = parse_markup(params, inline_only=True)
    if markup.inline is not None and not markup.inline["inline_keyboard"][0][0].get("pay"):
        raise bad_request("REPLY_MARKUP_BUY_EMPTY: the first button must be a Pay button")
    sent = send(world, chat, {"invoice": invoice_json(invoice)}, params, markup)
    stored = chat.get(sent["message_id"])
    assert stored is not None
    stored.invoice = invoice
    return sent


@method("createInvoiceLink")
async def create_invoice_link(world: SandboxWorld, params: Params) -> str:
    invoice = parse_invoice(params)
    slug = world.next_id("inv")
    world.invoice_links[slug] = invoice
    return f"https://t.me/${slug}"


@method("answerPreCheckoutQuery")
async def answer_pre_checkout_query(world: SandboxWorld, params: Params) -> bool:
    query = world.pre_checkout_queries.get(params.require_str("pre_checkout_query_id"))
    if (
        query is None
        or query.answer.done()
        or time.monotonic() - query.created > world.config.pre_checkout_wait
    ):
        raise bad_request(QUERY_TOO_OLD)
    ok = params.get_bool("ok")
    error_message = params.get_str("error_message")
    if not ok and not error_message:
        raise bad_request("error_message is empty")
    query.answer.set_result({"ok": ok, "error_message": error_message})
    return True


def _payment(world: SandboxWorld, params: Params) -> Payment:
    user_id = params.require_int("user_id")
    payment = world.payments.get(params.require_str("telegram_payment_charge_id"))
    if payment is None or payment.user_id != user_id:
        raise bad_request("CHARGE_ID_INVALID")
    return payment


@method("refundStarPayment")
async def refund_star_payment(world: SandboxWorld, params: Params) -> bool:
    payment = _payment(world, params)
    if payment.refunded:
        raise bad_request("CHARGE_ALREADY_REFUNDED")
    payment.refunded = True
    refunded = {
        "currency": payment.invoice.currency,
        "total_amount": payment.total_amount,
        "invoice_payload": payment.invoice.payload,
        "telegram_payment_charge_id": payment.charge_id,
    }
    world.user_message(world.users[payment.user_id], {"refunded_payment": refunded})
    return True


@method("editUserStarSubscription")
async def edit_user_star_subscription(world: SandboxWorld, params: Params) -> bool:
    payment = _payment(world, params)
    if payment.invoice.subscription_period is None:
        raise bad_request("SUBSCRIPTION_ID_INVALID")
    canceled = params.get_bool("is_canceled")
    if payment.subscription_canceled == canceled:
        raise bad_request("SUBSCRIPTION_NOT_MODIFIED")
    # The whole subscription is one switch, whichever of its charges names it.
    first = payment.renews or payment.charge_id
    for other in world.payments.values():
        if other.charge_id == first or other.renews == first:
            other.subscription_canceled = canceled
    return True


def _transaction(world: SandboxWorld, payment: Payment, *, refund: bool) -> Json:
    partner: Json = {
        "type": "user",
        "transaction_type": "invoice_payment",
        "user": world.users[payment.user_id].to_user(),
        "invoice_payload": payment.invoice.payload,
    }
    if payment.invoice.subscription_period:
        partner["subscription_period"] = payment.invoice.subscription_period
    key = "receiver" if refund else "source"
    return {"id": payment.charge_id, "amount": payment.total_amount, "date": payment.date, key: partner}


@method("getStarTransactions")
async def get_star_transactions(world: SandboxWorld, params: Params) -> Json:
    offset = params.get_int("offset", 0) or 0
    limit = params.get_int("limit", 100) or 100
    stars = [p for p in world.payments.values() if p.invoice.currency == STARS]
    transactions = [_transaction(world, p, refund=False) for p in stars]
    transactions += [_transaction(world, p, refund=True) for p in stars if p.refunded]
    return {"transactions": transactions[offset : offset + limit]}


@method("getMyStarBalance")
async def get_my_star_balance(world: SandboxWorld, params: Params) -> Json:
    balance = sum(
        p.total_amount for p in world.payments.values() if p.invoice.currency == STARS and not p.refunded
    )
    return {"amount": balance}
