"""Getting updates: getUpdates long polling, or a webhook the emulator posts updates to."""

from __future__ import annotations

from bot.sandbox.errors import WEBHOOK_ACTIVE_CONFLICT, bad_request, conflict
from bot.sandbox.methods.registry import method
from bot.sandbox.models import Json
from bot.sandbox.params import Params
from bot.sandbox.world import SandboxWorld

MAX_POLL_SECONDS = 50


def _allowed_updates(params: Params) -> list[str] | None:
    value = params.get_json("allowed_updates")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request("can't parse allowed_updates JSON object")
    return value


@method("getUpdates")
async def get_updates(world: SandboxWorld, params: Params) -> list[Json]:
    if world.webhook is not None:
        raise conflict(WEBHOOK_ACTIVE_CONFLICT)
    limit = min(max(params.get_int("limit", 100) or 100, 1), 100)
    timeout = min(max(params.get_int("timeout", 0) or 0, 0), MAX_POLL_SECONDS)
    return await world.updates.get(params.get_int("offset"), limit, timeout, _allowed_updates(params))


@method("setWebhook")
async def set_webhook(world: SandboxWorld, params: Params) -> bool:
    url = params.get_str("url") or ""
    if not url:
        return await delete_webhook(world, params)
    if not url.startswith(("http://", "https://")):
        raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
    if params.get_bool("drop_pending_updates"):
        world.updates.drop_pending()
    allowed = _allowed_updates(params)
    if allowed is not None:
        world.updates.allowed_updates = allowed
    world.set_webhook({"url": url, "secret_token": params.get_str("secret_token") or ""})
    return True


@method("deleteWebhook")
async def delete_webhook(world: SandboxWorld, params: Params) -> bool:
    if params.get_bool("drop_pending_updates"):
        world.updates.drop_pending()
    world.set_webhook(None)
    return True


@method("getWebhookInfo")
async def get_webhook_info(world: SandboxWorld, params: Params) -> Json:
    info: Json = {
        "url": world.webhook["url"] if world.webhook else "",
        "has_custom_certificate": False,
        "pending_update_count": world.updates.pending_count,
    }
    if world.webhook and world.updates.allowed_updates:
        info["allowed_updates"] = world.updates.allowed_updates
    return info
