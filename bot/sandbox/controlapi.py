"""Switches and records for tests and operators: the Bot API call log, injected flood errors, Telegram-side
events (redelivered updates, subscription renewals), and lists of users and payments.

  GET    /api/calls                  ?method=&chat_id=&since=SEQ&polling=1 -> {"calls", "last_seq"}
  GET    /api/users/{id}/calls       the same for one chat
  POST   /api/flood                  {"retry_after", "count"?, "method"?, "chat_id"?}: the next calls get 429
  DELETE /api/flood                  no more injected 429s
  GET    /api/users                  every user the bot has met
  GET    /api/payments               ?user_id=: charges with refunded / canceled flags
  POST   /api/users/{id}/redeliver   {"update_id"} or {"last": "successful_payment"}: the update again
  POST   /api/users/{id}/subscriptions/renew   {"telegram_payment_charge_id"?}: the next monthly charge
  GET    /api/control/clock          {"now": ISO 8601 UTC, "offset_seconds"}: the sandbox's time
  POST   /api/control/clock          {"now": ISO} or {"advance_seconds": N} or {"reset": true}: move it; message
                                     dates, payments and the bot's scheduled jobs (`librarity scheduler
                                     --once JOB`, and the bot when it runs in this process) follow
"""

from __future__ import annotations

from datetime import datetime, timedelta

from aiohttp import web

from bot.sandbox.models import Json, Payment
from bot.sandbox.userapi import (
    UserApiError,
    json_body,
    payment_result,
    record_payment,
    user_id_of,
    world_of,
)
from bot.sandbox.world import FloodRule, SandboxWorld

POLLING_METHODS = frozenset({"getUpdates"})


def _optional_int(request: web.Request, name: str) -> int | None:
    value = request.query.get(name)
    try:
        return int(value) if value else None
    except ValueError as e:
        raise UserApiError(400, f"{name} must be an integer") from e


def _calls(request: web.Request, chat_id: int | None) -> web.Response:
    world = world_of(request)
    method = request.query.get("method")
    since = _optional_int(request, "since") or 0
    polling = request.query.get("polling") in ("1", "true")
    calls = [
        call.to_json()
        for call in world.calls
        if call.seq > since
        and (method is None or call.method.lower() == method.lower())
        and (chat_id is None or call.chat_id == chat_id)
        and (polling or method is not None or call.method not in POLLING_METHODS)
    ]
    last_seq = world.calls[-1].seq if world.calls else 0
    return web.json_response({"calls": calls, "last_seq": last_seq})


async def all_calls(request: web.Request) -> web.Response:
    return _calls(request, _optional_int(request, "chat_id"))


async def user_calls(request: web.Request) -> web.Response:
    return _calls(request, user_id_of(request))


async def add_flood(request: web.Request) -> web.Response:
    body = await json_body(request)
    try:
        rule = FloodRule(
            retry_after=int(body.get("retry_after", 1)),
            count=int(body.get("count", 1)),
            method=body.get("method"),
            chat_id=int(body["chat_id"]) if body.get("chat_id") is not None else None,
        )
    except (TypeError, ValueError) as e:
        raise UserApiError(400, "retry_after, count and chat_id must be integers") from e
    world_of(request).flood_rules.append(rule)
    return web.json_response({"ok": True})


async def clear_flood(request: web.Request) -> web.Response:
    world_of(request).flood_rules.clear()
    return web.json_response({"ok": True})


async def list_users(request: web.Request) -> web.Response:
    users = [u.to_user() | {"blocked_bot": u.blocked_bot} for u in world_of(request).users.values()]
    return web.json_response({"users": users})


def payment_json(payment: Payment) -> Json:
    return {
        "telegram_payment_charge_id": payment.charge_id,
        "user_id": payment.user_id,
        "currency": payment.invoice.currency,
        "total_amount": payment.total_amount,
        "invoice_payload": payment.invoice.payload,
        "date": payment.date,
        "subscription_period": payment.invoice.subscription_period,
        "subscription_expiration_date": payment.subscription_expiration_date,
        "refunded": payment.refunded,
        "subscription_canceled": payment.subscription_canceled,
        "renews": payment.renews,
    }


async def list_payments(request: web.Request) -> web.Response:
    user_id = _optional_int(request, "user_id")
    payments = [
        payment_json(p)
        for p in world_of(request).payments.values()
        if user_id is None or p.user_id == user_id
    ]
    return web.json_response({"payments": payments})


def _last_update_with(world: SandboxWorld, user_id: int, field: str) -> int | None:
    for update_id, update in reversed(world.updates.history.items()):
        message = update.get("message")
        if isinstance(message, dict) and message.get("chat", {}).get("id") == user_id and field in message:
            return update_id
    return None


async def redeliver(request: web.Request) -> web.Response:
    world = world_of(request)
    body = await json_body(request)
    update_id = body.get("update_id")
    if update_id is None and isinstance(body.get("last"), str):
        update_id = _last_update_with(world, user_id_of(request), body["last"])
    if update_id is None:
        raise UserApiError(404, "no such update")
    update = world.updates.redeliver(int(update_id))
    if update is None:
        raise UserApiError(404, "no such update")
    return web.json_response({"ok": True, "update_id": update["update_id"]})


def _subscription(world: SandboxWorld, user_id: int, charge_id: str | None) -> Payment:
    """The newest charge of the subscription named by charge_id (any of its charges), or the newest one."""
    owned = [p for p in world.payments.values() if p.user_id == user_id and p.invoice.subscription_period]
    if charge_id:
        named = world.payments.get(charge_id)
        if named is None or named not in owned:
            raise UserApiError(404, "subscription charge not found")
        first = named.renews or named.charge_id
        owned = [p for p in owned if (p.renews or p.charge_id) == first]
    if not owned:
        raise UserApiError(404, "the user has no subscription")
    return owned[-1]


async def renew_subscription(request: web.Request) -> web.Response:
    world = world_of(request)
    body = await json_body(request)
    user_id = user_id_of(request)
    latest = _subscription(world, user_id, body.get("telegram_payment_charge_id"))
    if latest.subscription_canceled:
        raise UserApiError(409, "the subscription is canceled")
    renewal = record_payment(world, world.users[user_id], latest.invoice, renews=latest)
    return web.json_response(payment_result(*renewal))


def clock_json(world: SandboxWorld) -> Json:
    return {"now": world.clock.now().isoformat(), "offset_seconds": world.clock.offset.total_seconds()}


async def get_clock(request: web.Request) -> web.Response:
    return web.json_response(clock_json(world_of(request)))


async def move_clock(request: web.Request) -> web.Response:
    clock = world_of(request).clock
    body = await json_body(request)
    try:
        if body.get("reset"):
            clock.offset = timedelta(0)
        elif "now" in body:
            clock.set(datetime.fromisoformat(str(body["now"])))  # without a zone: UTC
        elif "advance_seconds" in body:
            clock.advance(timedelta(seconds=float(body["advance_seconds"])))
        else:
            raise UserApiError(400, 'send {"now": ISO 8601}, {"advance_seconds": N} or {"reset": true}')
    except (TypeError, ValueError, OverflowError) as e:
        raise UserApiError(400, f"bad time: {e}") from e
    return web.json_response(clock_json(world_of(request)))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/calls", all_calls)
    app.router.add_get("/api/users/{user_id}/calls", user_calls)
    app.router.add_post("/api/flood", add_flood)
    app.router.add_delete("/api/flood", clear_flood)
    app.router.add_get("/api/users", list_users)
    app.router.add_get("/api/payments", list_payments)
    app.router.add_post("/api/users/{user_id}/redeliver", redeliver)
    app.router.add_post("/api/users/{user_id}/subscriptions/renew", renew_subscription)
    app.router.add_get("/api/control/clock", get_clock)
    app.router.add_post("/api/control/clock", move_clock)
