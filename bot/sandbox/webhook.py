"""Posting updates to the bot's webhook, as Telegram does once setWebhook is called.

Updates go one at a time, in order; a failed delivery is retried. A reply body carrying a `method`
(aiogram's "reply into webhook") is executed as a Bot API call.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

import aiohttp

from bot.sandbox.errors import BotApiError
from bot.sandbox.params import Params, Upload
from bot.sandbox.world import SandboxWorld

logger = logging.getLogger(__name__)

CallMethod = Callable[[SandboxWorld, str, Params], Awaitable[Any]]
RETRY_SECONDS = 1.0


class WebhookPusher:
    def __init__(self, world: SandboxWorld, call_method: CallMethod) -> None:
        self.world = world
        self.call_method = call_method
        self._task: asyncio.Task[None] | None = None
        self._offset = 0
        world.on_webhook_change.append(self.refresh)

    def refresh(self) -> None:
        if self.world.webhook is not None and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())
        elif self.world.webhook is None and self._task is not None:
            self._task.cancel()
            self._task = None

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        async with aiohttp.ClientSession() as session:
            # Stops when the server does: a webhook the bot left set must not keep this loop spinning.
            while self.world.webhook is not None and not self.world.updates.closed:
                updates = self.world.updates.take(self._offset, 1)
                if not updates:
                    await self.world.updates.wait_for_push(30)
                    continue
                update = updates[0]
                if await self._deliver(session, update):
                    self._offset = update["update_id"] + 1
                else:
                    await asyncio.sleep(RETRY_SECONDS)

    async def _deliver(self, session: aiohttp.ClientSession, update: dict[str, Any]) -> bool:
        webhook = self.world.webhook
        if webhook is None:
            return False
        headers = (
            {"X-Telegram-Bot-Api-Secret-Token": webhook["secret_token"]} if webhook["secret_token"] else {}
        )
        try:
            async with session.post(webhook["url"], json=update, headers=headers) as response:
                if response.status >= 300:
                    logger.warning("Webhook answered %s for update %s", response.status, update["update_id"])
                    return False
                reply = await self._reply_params(response)
        except aiohttp.ClientError as e:
            logger.warning("Webhook delivery failed: %s", e)
            return False
        if reply is not None:
            name = reply.get_str("method") or ""
            with contextlib.suppress(BotApiError):
                await self.call_method(self.world, name, reply)
        return True

    @staticmethod
    async def _reply_params(response: aiohttp.ClientResponse) -> Params | None:
        body = await response.read()
        if not body.strip():
            return None
        if response.content_type == "application/json":
            values = json.loads(body)
            return Params(values) if isinstance(values, dict) and values.get("method") else None
        if response.content_type == "multipart/form-data":
            return _form_params(response.headers.get("Content-Type", ""), body)
        return None


def _form_params(content_type: str, body: bytes) -> Params | None:
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    if not isinstance(message, EmailMessage):
        return None
    values: dict[str, Any] = {}
    uploads: dict[str, Upload] = {}
    for part in message.iter_parts():
        if not isinstance(part, EmailMessage):
            continue
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(data, bytes):
            continue
        if part.get_filename():
            uploads[name] = Upload(str(part.get_filename()), part.get_content_type(), data)
        else:
            values[name] = data.decode()
    return Params(values, uploads) if values.get("method") else None
