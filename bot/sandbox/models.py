"""What the sandbox remembers: users and their chats, messages with edits applied, files, payments.

Messages are kept as Telegram Message objects (plain JSON dicts) so that both sides see exactly what
the Bot API would return; the dataclasses around them hold the bookkeeping Telegram keeps privately.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]


@dataclass(frozen=True)
class SandboxConfig:
    """How strict and how patient the emulator is; the defaults are Telegram's."""

    #: Serve as a local Bot API server: no 20 MB download limit, getFile answers an absolute path.
    local_mode: bool = False
    #: Where files go on disk in local mode (a temporary folder when unset).
    files_dir: str | None = None
    max_download_size: int = 20 * 1024 * 1024
    max_upload_size: int = 50 * 1024 * 1024
    #: How long the user side waits for answerCallbackQuery / answerPreCheckoutQuery.
    callback_wait: float = 5.0
    pre_checkout_wait: float = 10.0
    #: After this many seconds a callback query can no longer be answered.
    callback_query_lifetime: float = 60.0
    #: Telegram's pacing, enforced with 429 when on: messages a second per chat and overall.
    rate_limit: bool = False
    per_chat_per_second: float = 1.0
    per_chat_burst: int = 3
    global_per_second: float = 30.0
    #: Only tokens equal to this are accepted when set; otherwise any well-formed token is.
    token: str | None = None
    bot_first_name: str = "Librarity"
    bot_username: str = "librarity_sandbox_bot"
    #: How many Bot API calls the call log keeps.
    call_log_size: int = 20_000


@dataclass
class SandboxUser:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_premium: bool = False
    blocked_bot: bool = False

    def to_user(self) -> Json:
        user: Json = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if (value := getattr(self, key)) is not None:
                user[key] = value
        if self.is_premium:
            user["is_premium"] = True
        return user

    def to_chat(self) -> Json:
        chat: Json = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            chat["last_name"] = self.last_name
        if self.username:
            chat["username"] = self.username
        return chat


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0
    local_path: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class ChatMessage:
    """One message in a private chat, as Telegram shows it now."""

    data: Json
    outgoing: bool
    revision: int
    deleted: bool = False
    #: A reply keyboard (or its removal) sent with the message; Message objects carry inline ones only.
    reply_keyboard: Json | None = None
    #: The invoice behind an invoice message (its payload is not part of the Message object).
    invoice: Invoice | None = None

    @property
    def message_id(self) -> int:
        return int(self.data["message_id"])

    def content_key(self) -> tuple[Any, ...]:
        """What "message is not modified" compares."""
        return (
            self.data.get("text"),
            self.data.get("entities") or [],
            self.data.get("caption"),
            self.data.get("caption_entities") or [],
            self.data.get("reply_markup"),
        )


@dataclass
class Draft:
    draft_id: int
    text: str
    entities: list[Json]
    date: int
    expires_at: float

    def to_json(self) -> Json:
        return {"draft_id": self.draft_id, "text": self.text, "entities": self.entities, "date": self.date}


KEEP_MESSAGES = 1000  # per chat


@dataclass
class Chat:
    """A private chat between the bot and one user; it keeps its newest KEEP_MESSAGES messages, so a
    long-running sandbox does not grow with every question (an older one answers "not found", as a
    deleted one would)."""

    user: SandboxUser
    messages: dict[int, ChatMessage] = field(default_factory=dict)
    next_message_id: int = 1
    revision: int = 0
    draft: Draft | None = None
    action: str | None = None
    action_until: float = 0.0
    menu_button: Json | None = None

    @property
    def id(self) -> int:
        return self.user.id

    def bump(self) -> int:
        self.revision += 1
        return self.revision

    def add(self, data: Json, *, outgoing: bool) -> ChatMessage:
        message_id = self.next_message_id
        self.next_message_id += 1
        data = {"message_id": message_id, **data}
        message = ChatMessage(data=data, outgoing=outgoing, revision=self.bump())
        self.messages[message_id] = message
        while len(self.messages) > KEEP_MESSAGES:
            del self.messages[next(iter(self.messages))]
        if outgoing:
            self.draft = None
            self.action = None
        return message

    def get(self, message_id: int) -> ChatMessage | None:
        message = self.messages.get(message_id)
        return None if message is None or message.deleted else message

    def current_draft(self) -> Draft | None:
        if self.draft is not None and self.draft.expires_at < time.monotonic():
            self.draft = None
        return self.draft

    def current_action(self) -> str | None:
        return self.action if self.action and self.action_until > time.monotonic() else None

    def reply_keyboard(self) -> Json | None:
        """The reply keyboard the user sees now: the last one sent, until removed or used once."""
        keyboard: Json | None = None
        for message in self.messages.values():
            markup = message.reply_keyboard
            if message.outgoing and markup is not None:
                keyboard = markup if "keyboard" in markup else None
            elif not message.outgoing and keyboard is not None and keyboard.get("one_time_keyboard"):
                keyboard = None
        return keyboard


@dataclass
class Invoice:
    title: str
    description: str
    payload: str
    currency: str
    prices: list[Json]
    subscription_period: int | None = None
    provider_token: str = ""
    extra: Json = field(default_factory=dict)

    @property
    def total_amount(self) -> int:
        return sum(int(price["amount"]) for price in self.prices)


@dataclass
class Payment:
    charge_id: str
    user_id: int
    invoice: Invoice
    date: int
    subscription_expiration_date: int | None = None
    refunded: bool = False
    subscription_canceled: bool = False
    #: The first charge of the subscription this one renews, if it is a renewal.
    renews: str | None = None

    @property
    def total_amount(self) -> int:
        return self.invoice.total_amount


@dataclass
class CallRecord:
    """One Bot API call, as tests see it in the call log."""

    seq: int
    method: str
    params: Json
    time: float
    #: The chat the call concerns (a callback or pre-checkout answer: the user who asked), if any.
    chat_id: int | None
    #: The error description Telegram answered with; None for a successful call.
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> Json:
        record: Json = {"seq": self.seq, "method": self.method, "params": self.params, "time": self.time}
        record |= {"chat_id": self.chat_id, "ok": self.ok}
        if self.error is not None:
            record["error"] = self.error
        return record
