"""Clients of the sandbox's JSON API for e2e tests: a person in a chat with the bot, and the control side.

Messages are Telegram Message objects as plain dicts (what GET /api/users/{id}/messages returns).
Waiting is by polling with a deadline; tests assert on what arrives, never on how fast.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, overload

import aiohttp

from bot.sandbox.formatting import entities_to_html
from bot.sandbox.runner import RunningSandbox
from bot.sandbox.world import SandboxWorld

Message = dict[str, Any]
T = TypeVar("T")

DEFAULT_TIMEOUT = 10.0
POLL_INTERVAL = 0.05
INVOICE_LINK_PREFIX = "https://t.me/$"


class SandboxApiError(AssertionError):
    """The sandbox refused a user action (an HTTP error from the JSON API)."""


def text_of(message: Message) -> str:
    """The text or caption of a message ("" for none)."""
    return str(message.get("text") or message.get("caption") or "")


def html_of(message: Message) -> str:
    """The text or caption as Telegram HTML (entities back as tags), to assert on formatting."""
    if "text" in message:
        return entities_to_html(message["text"], message.get("entities") or [])
    return entities_to_html(message.get("caption") or "", message.get("caption_entities") or [])


def buttons_of(message: Message) -> list[dict[str, Any]]:
    """The inline buttons of a message, row by row flattened."""
    markup = message.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


def find_button(message: Message, text_substring: str) -> dict[str, Any]:
    for button in buttons_of(message):
        if text_substring.lower() in str(button.get("text", "")).lower():
            return button
    labels = [b.get("text") for b in buttons_of(message)]
    raise AssertionError(
        f"no button with {text_substring!r} in message {message.get('message_id')}: {labels}"
    )


class _ApiClient:
    def __init__(self, base_url: str, session: aiohttp.ClientSession | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = session
        self._owns_session = session is None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        async with self.session.request(method, f"{self.base_url}{path}", **kwargs) as response:
            body = await response.json(content_type=None)
            if response.status >= 400:
                raise SandboxApiError(f"{method} {path}: {response.status} {body}")
            return body


class SandboxControl(_ApiClient):
    """The Telegram side: call log, injected flood errors, users and payments."""

    async def calls(
        self, method: str | None = None, *, chat_id: int | None = None, since: int = 0
    ) -> list[dict[str, Any]]:
        """Bot API calls the bot made (getUpdates left out unless asked by name), oldest first."""
        params: dict[str, str] = {"since": str(since)}
        if method:
            params["method"] = method
        if chat_id is not None:
            params["chat_id"] = str(chat_id)
        body = await self._request("GET", "/api/calls", params=params)
        return list(body["calls"])

    async def last_call_seq(self) -> int:
        body = await self._request("GET", "/api/calls", params={"since": str(2**62)})
        return int(body["last_seq"])

    async def flood(
        self, retry_after: int = 1, *, count: int = 1, method: str | None = None, chat_id: int | None = None
    ) -> None:
        """The next `count` matching Bot API calls answer 429 with this retry_after."""
        body: dict[str, Any] = {
            "retry_after": retry_after,
            "count": count,
            "method": method,
            "chat_id": chat_id,
        }
        await self._request("POST", "/api/flood", json=body)

    async def clear_flood(self) -> None:
        await self._request("DELETE", "/api/flood")

    async def users(self) -> list[dict[str, Any]]:
        return list((await self._request("GET", "/api/users"))["users"])

    async def payments(self, user_id: int | None = None) -> list[dict[str, Any]]:
        params = {"user_id": str(user_id)} if user_id is not None else {}
        return list((await self._request("GET", "/api/payments", params=params))["payments"])

    async def clock(self) -> dict[str, Any]:
        """The sandbox's time: {"now": ISO 8601, "offset_seconds"}."""
        return dict(await self._request("GET", "/api/control/clock"))

    async def move_clock(
        self, *, now: datetime | None = None, advance: timedelta | None = None, reset: bool = False
    ) -> dict[str, Any]:
        """Move the sandbox's time (message dates, payments, the bot's scheduled jobs) to `now`, by
        `advance`, or back to the real time."""
        body: dict[str, Any] = (
            {"reset": True}
            if reset
            else {"now": now.isoformat()}
            if now is not None
            else {"advance_seconds": advance.total_seconds() if advance else 0}
        )
        return dict(await self._request("POST", "/api/control/clock", json=body))


class UserClient(_ApiClient):
    """One person chatting with the bot through the sandbox."""

    def __init__(
        self,
        base_url: str,
        user_id: int,
        language_code: str = "en",
        *,
        first_name: str | None = None,
        username: str | None = None,
        session: aiohttp.ClientSession | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(base_url, session)
        self.user_id = user_id
        self.language_code = language_code
        self.first_name = first_name
        self.username = username
        self.timeout = timeout
        self.control = SandboxControl(base_url, self.session)

    async def __aenter__(self) -> UserClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _profile(self) -> dict[str, Any]:
        profile: dict[str, Any] = {"language_code": self.language_code}
        if self.first_name is not None:
            profile["first_name"] = self.first_name
        if self.username is not None:
            profile["username"] = self.username
        return profile

    def _path(self, tail: str) -> str:
        return f"/api/users/{self.user_id}/{tail}"

    # --- what the user does -------------------------------------------------------------------

    async def send(self, text: str, *, reply_to: int | None = None) -> Message:
        """Send a text message; returns it (its message_id is where the bot's replies start after)."""
        body = {"text": text, **self._profile()}
        if reply_to is not None:
            body["reply_to_message_id"] = reply_to
        return dict((await self._request("POST", self._path("messages"), json=body))["message"])

    async def send_document(
        self, file: str | Path | bytes, filename: str | None = None, caption: str | None = None,
        *, sent_as: str = "document",
    ) -> Message:  # fmt: skip
        """Send a file as a document (a path, or bytes with a filename); `sent_as` "voice" or "audio" sends
        it as a voice recording or music instead."""
        if isinstance(file, bytes):
            data, name = file, filename or "file.bin"
        else:
            path = Path(file)
            data, name = await asyncio.to_thread(path.read_bytes), filename or path.name
        form = aiohttp.FormData()
        form.add_field("file", data, filename=name)
        for key, value in self._profile().items():
            form.add_field(key, str(value))
        if caption is not None:
            form.add_field("caption", caption)
        form.add_field("as", sent_as)
        return dict((await self._request("POST", self._path("documents"), data=form))["message"])

    async def tap(self, message_id: int, data: str, *, force: bool = False) -> dict[str, Any]:
        """Tap the inline button with this callback data; the bot's answer (text, show_alert, answered)."""
        body = {"message_id": message_id, "data": data, "force": force, **self._profile()}
        return dict(await self._request("POST", self._path("callbacks"), json=body))

    async def inline(self, query: str, *, offset: str = "") -> dict[str, Any]:
        """Type `@bot query` in some chat: the bot's answer (results, button, answered, query_id)."""
        body = {"query": query, "offset": offset, **self._profile()}
        return dict(await self._request("POST", self._path("inline"), json=body))

    async def choose_inline(self, query_id: str, result_id: str) -> Message:
        """Tap one of the inline results: its message, posted as the user's "via @bot"."""
        body = {"query_id": query_id, "result_id": result_id, **self._profile()}
        return dict((await self._request("POST", self._path("inline/choose"), json=body))["message"])

    async def tap_button(self, message: Message, text_substring: str) -> dict[str, Any]:
        """Tap the button whose label contains the text: a callback, a Pay button or an invoice link."""
        button = find_button(message, text_substring)
        if "callback_data" in button:
            return await self.tap(int(message["message_id"]), str(button["callback_data"]))
        if button.get("pay"):
            return await self.pay(int(message["message_id"]))
        url = str(button.get("url", ""))
        if url.startswith(INVOICE_LINK_PREFIX):
            return await self.pay(link=url)
        raise AssertionError(f"button {button!r} does nothing a test can follow")

    async def pay(self, message_id: int | None = None, *, link: str | None = None) -> dict[str, Any]:
        """Pay an invoice message (or invoice link): pre-checkout, then successful_payment if approved.

        Returns {"status": "paid" | "declined" | "timeout", "telegram_payment_charge_id"?, ...}."""
        body: dict[str, Any] = {**self._profile()}
        if link is not None:
            body["link"] = link
        else:
            body["message_id"] = message_id
        return dict(await self._request("POST", self._path("payments"), json=body))

    async def renew_subscription(self, charge_id: str | None = None) -> dict[str, Any]:
        """Telegram charges the next subscription period (no pre-checkout for renewals)."""
        body = {"telegram_payment_charge_id": charge_id} if charge_id else {}
        return dict(await self._request("POST", self._path("subscriptions/renew"), json=body))

    async def redeliver(self, *, update_id: int | None = None, last: str | None = None) -> int:
        """Deliver an update again (by id, or the user's last message with field `last`); the new id."""
        body: dict[str, Any] = {"update_id": update_id} if update_id is not None else {"last": last}
        return int((await self._request("POST", self._path("redeliver"), json=body))["update_id"])

    async def block(self, blocked: bool = True) -> None:
        """Block (or unblock) the bot; the bot gets a my_chat_member update, then 403 when sending."""
        await self._request("POST", self._path("block"), json={"blocked": blocked, **self._profile()})

    # --- what the user sees --------------------------------------------------------------------

    async def chat(self, after: int = 0, *, include_own: bool = False) -> dict[str, Any]:
        """The whole view: {"messages", "draft", "keyboard", "action", "revision", "user"}."""
        params = {"after": str(after)}
        if include_own:
            params["all"] = "1"
        return dict(await self._request("GET", self._path("messages"), params=params))

    async def messages(self, after: int = 0, *, include_own: bool = False) -> list[Message]:
        """The bot's messages (edits applied) with message_id > after, oldest first."""
        return list((await self.chat(after, include_own=include_own))["messages"])

    async def message(self, message_id: int) -> Message | None:
        """One message as it is now (None once deleted)."""
        found = [
            m for m in await self.messages(message_id - 1, include_own=True) if m["message_id"] == message_id
        ]
        return found[0] if found else None

    async def draft(self) -> dict[str, Any] | None:
        draft = (await self.chat())["draft"]
        return dict(draft) if draft else None

    async def download(self, message: Message) -> bytes:
        """The bytes of the file in a message (document, photo, ...)."""
        for key in ("document", "audio", "video", "voice", "animation"):
            if isinstance(message.get(key), dict):
                url = message[key]["download_url"]
                break
        else:
            if not message.get("photo"):
                raise AssertionError(f"message {message.get('message_id')} has no file")
            url = message["photo"][-1]["download_url"]
        async with self.session.get(url) as response:
            response.raise_for_status()
            return await response.read()

    async def calls(self, method: str | None = None, *, since: int = 0) -> list[dict[str, Any]]:
        """Bot API calls the bot made about this chat."""
        return await self.control.calls(method, chat_id=self.user_id, since=since)

    @overload
    async def wait_for(
        self,
        predicate: Callable[[list[Message]], Awaitable[T | None]],
        *,
        after: int = 0,
        timeout: float | None = None,  # noqa: ASYNC109 (a polling deadline)
        include_own: bool = False,
    ) -> T: ...

    @overload
    async def wait_for(
        self,
        predicate: Callable[[list[Message]], T | None],
        *,
        after: int = 0,
        timeout: float | None = None,  # noqa: ASYNC109 (a polling deadline)
        include_own: bool = False,
    ) -> T: ...

    async def wait_for(
        self,
        predicate: Callable[[list[Message]], Any],
        *,
        after: int = 0,
        timeout: float | None = None,  # noqa: ASYNC109 (a polling deadline)
        include_own: bool = False,
    ) -> Any:
        """Poll the bot's messages (id > after) until predicate returns something truthy; return it."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while True:
            messages = await self.messages(after, include_own=include_own)
            outcome = predicate(messages)
            result = await outcome if inspect.isawaitable(outcome) else outcome
            if result:
                return result
            if time.monotonic() > deadline:
                shown = [(m["message_id"], text_of(m)[:80]) for m in messages]
                raise AssertionError(
                    f"user {self.user_id}: condition not met; messages after {after}: {shown}"
                )
            await asyncio.sleep(POLL_INTERVAL)

    async def wait_reply(
        self,
        after_id: int,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (a polling deadline)
        contains: str | None = None,
    ) -> Message:
        """The first bot message after `after_id` (containing `contains`, if given)."""

        def first(messages: list[Message]) -> Message | None:
            for message in messages:
                if contains is None or contains.lower() in text_of(message).lower():
                    return message
            return None

        return await self.wait_for(first, after=after_id, timeout=timeout)

    async def wait_edit(
        self,
        message_id: int,
        predicate: Callable[[Message], bool],
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (a polling deadline)
    ) -> Message:
        """Wait until the message (as edited) satisfies predicate."""

        def edited(messages: list[Message]) -> Message | None:
            found = next((m for m in messages if m["message_id"] == message_id), None)
            return found if found is not None and predicate(found) else None

        return await self.wait_for(edited, after=message_id - 1, timeout=timeout)

    async def ask(
        self,
        text: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (a polling deadline)
        contains: str | None = None,
    ) -> Message:
        """Send text and return the bot's first reply to it."""
        sent = await self.send(text)
        return await self.wait_reply(int(sent["message_id"]), timeout=timeout, contains=contains)


class SandboxHarness:
    """A running sandbox with the bot polling it: the base URL, users to talk as, and the control side."""

    def __init__(
        self, running: RunningSandbox, session: aiohttp.ClientSession, first_user_id: int = 10_001
    ) -> None:
        self.running = running
        self.session = session
        self.control = SandboxControl(running.base_url, session)
        self._next_user_id = first_user_id

    @property
    def base_url(self) -> str:
        return self.running.base_url

    @property
    def world(self) -> SandboxWorld:
        """The emulator's state, for assertions the JSON API does not cover."""
        return self.running.emulator.world

    def user(
        self,
        user_id: int | None = None,
        language_code: str = "en",
        *,
        first_name: str | None = None,
        username: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> UserClient:
        """A client for one user (a fresh id unless given); all share one HTTP session."""
        if user_id is None:
            user_id = self._next_user_id
            self._next_user_id += 1
        return UserClient(
            self.base_url,
            user_id,
            language_code,
            first_name=first_name,
            username=username,
            session=self.session,
            timeout=timeout,
        )
