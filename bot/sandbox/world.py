"""The emulated Telegram: one bot, its users and chats, files, queries, payments and the call log.

Both sides act on this object: the Bot API methods (`bot.sandbox.methods`) for the bot, the user API
(`bot.sandbox.userapi`) for people. Everything runs on one event loop, so plain mutation is safe.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import tempfile
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.sandbox.errors import (
    BOT_BLOCKED,
    CHAT_NOT_FOUND,
    bad_request,
    forbidden,
    too_many_requests,
)
from bot.sandbox.models import (
    CallRecord,
    Chat,
    ChatMessage,
    Invoice,
    Json,
    Payment,
    SandboxConfig,
    SandboxUser,
    StoredFile,
)
from bot.sandbox.updates import UpdateQueue
from services.jobs.clock import ShiftedClock

TOKEN_RE = re.compile(r"^(\d{1,20}):[A-Za-z0-9_-]{1,200}$")
DEFAULT_BOT_ID = 7000000001


@dataclass
class PendingQuery:
    """A callback or pre-checkout query waiting for the bot's answer."""

    id: str
    user_id: int
    created: float
    answer: asyncio.Future[Json]


@dataclass
class FloodRule:
    """Answer the next `count` matching calls with 429 (a test switch)."""

    retry_after: int
    count: int
    method: str | None = None
    chat_id: int | None = None

    def matches(self, method: str, chat_id: int | None) -> bool:
        return (self.method is None or self.method.lower() == method.lower()) and (
            self.chat_id is None or self.chat_id == chat_id
        )


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets per chat and overall, like Telegram's pacing (off unless configured)."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._chats: dict[int, _Bucket] = {}
        self._global = _Bucket(config.global_per_second, time.monotonic())

    @staticmethod
    def _take(bucket: _Bucket, rate: float, capacity: float) -> float:
        """Seconds to wait, or 0 after taking a token."""
        moment = time.monotonic()
        bucket.tokens = min(capacity, bucket.tokens + (moment - bucket.updated) * rate)
        bucket.updated = moment
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / rate

    def check(self, chat_id: int) -> None:
        config = self.config
        wait = self._take(self._global, config.global_per_second, config.global_per_second)
        if not wait:
            bucket = self._chats.setdefault(chat_id, _Bucket(config.per_chat_burst, time.monotonic()))
            wait = self._take(bucket, config.per_chat_per_second, config.per_chat_burst)
        if wait:
            raise too_many_requests(max(1, round(wait + 0.5)))


class SandboxWorld:
    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.bot_id = DEFAULT_BOT_ID
        self.users: dict[int, SandboxUser] = {}
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self.updates = UpdateQueue()
        self.callback_queries: dict[str, PendingQuery] = {}
        self.pre_checkout_queries: dict[str, PendingQuery] = {}
        self.inline_queries: dict[str, PendingQuery] = {}
        #: The bot's answers to inline queries by query id (user id, query text, answer), for choosing a
        #: result; the newest 1,000 are kept.
        self.inline_answers: dict[str, tuple[int, str, Json]] = {}
        self.invoice_links: dict[str, Invoice] = {}
        self.payments: dict[str, Payment] = {}
        self.commands: dict[tuple[str, str], list[Json]] = {}
        self.bot_texts: dict[tuple[str, str], str] = {}
        self.default_menu_button: Json = {"type": "commands"}
        self.webhook: Json | None = None
        #: Told when the webhook is set or removed (the emulator starts or stops posting updates).
        self.on_webhook_change: list[Callable[[], None]] = []
        self.calls: deque[CallRecord] = deque(maxlen=self.config.call_log_size)
        self._call_seq = 0
        self.flood_rules: list[FloodRule] = []
        self.rate_limiter = RateLimiter(self.config)
        #: Telegram's time: message dates and payments. The control API moves it; a bot running in this
        #: process shares it (SandboxApp.clock), so its scheduled jobs see the moved time too.
        self.clock = ShiftedClock()
        self._counter = 0
        self._files_dir: Path | None = Path(self.config.files_dir) if self.config.files_dir else None
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None

    # --- identity -------------------------------------------------------------------------------

    def authorize(self, token: str) -> bool:
        match = TOKEN_RE.match(token)
        if match is None or (self.config.token is not None and token != self.config.token):
            return False
        self.bot_id = int(match.group(1))
        return True

    def bot_user(self) -> Json:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.config.bot_first_name,
            "username": self.config.bot_username,
        }

    def timestamp(self) -> int:
        """Now on the sandbox's clock, as Telegram's dates are: Unix seconds."""
        return int(self.clock.now().timestamp())

    def next_id(self, prefix: str = "") -> str:
        self._counter += 1
        return f"{prefix}{self._counter}{secrets.token_hex(6)}"

    # --- users and chats ------------------------------------------------------------------------

    def ensure_user(self, user_id: int, profile: Json | None = None) -> SandboxUser:
        """The user, created on first contact; profile fields given now update it."""
        profile = profile or {}
        user = self.users.get(user_id)
        if user is None:
            user = SandboxUser(
                id=user_id,
                first_name=str(profile.get("first_name") or f"User {user_id}"),
                username=profile.get("username", f"user{user_id}"),
            )
            self.users[user_id] = user
            self.chats[user_id] = Chat(user=user)
        for key in ("first_name", "last_name", "username", "language_code", "is_premium"):
            if profile.get(key) is not None:
                setattr(user, key, profile[key])
        return user

    def chat(self, chat_id: int) -> Chat:
        """The chat the bot addresses; Telegram's errors when it cannot."""
        chat = self.chats.get(chat_id)
        if chat is None:
            raise bad_request(CHAT_NOT_FOUND)
        return chat

    def chat_to_send(self, chat_id: int) -> Chat:
        chat = self.chat(chat_id)
        if chat.user.blocked_bot:
            raise forbidden(BOT_BLOCKED)
        return chat

    def resolve_chat_id(self, value: str | None) -> int:
        if value is None or value == "":
            raise bad_request(CHAT_NOT_FOUND)
        if value.startswith("@"):
            for user in self.users.values():
                if user.username and user.username.lower() == value[1:].lower():
                    return user.id
            raise bad_request(CHAT_NOT_FOUND)
        try:
            return int(value)
        except ValueError as e:
            raise bad_request(CHAT_NOT_FOUND) from e

    def bot_message(self, chat: Chat, content: Json) -> ChatMessage:
        data = {"from": self.bot_user(), "chat": chat.user.to_chat(), "date": self.timestamp(), **content}
        return chat.add(data, outgoing=True)

    def user_message(self, user: SandboxUser, content: Json) -> ChatMessage:
        """A message from the user, delivered to the bot as a `message` update."""
        chat = self.chats[user.id]
        message = chat.add(
            {"from": user.to_user(), "chat": user.to_chat(), "date": self.timestamp(), **content},
            outgoing=False,
        )
        self.updates.push("message", message.data)
        return message

    def set_blocked(self, user: SandboxUser, blocked: bool) -> None:
        if user.blocked_bot == blocked:
            return
        user.blocked_bot = blocked
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        bot = self.bot_user()
        member_update: Json = {
            "chat": user.to_chat(),
            "from": user.to_user(),
            "date": self.timestamp(),
            "old_chat_member": {"status": old, "user": bot} | ({"until_date": 0} if old == "kicked" else {}),
            "new_chat_member": {"status": new, "user": bot} | ({"until_date": 0} if new == "kicked" else {}),
        }
        self.updates.push("my_chat_member", member_update)

    def set_webhook(self, webhook: Json | None) -> None:
        self.webhook = webhook
        for listener in self.on_webhook_change:
            listener()

    # --- files ----------------------------------------------------------------------------------

    def store_file(
        self, data: bytes, *, kind: str, file_name: str | None = None, mime_type: str | None = None
    ) -> StoredFile:
        unique = self.next_id("u")
        suffix = Path(file_name).suffix if file_name else ""
        path = f"{kind}/file_{len(self.files)}{suffix}"
        stored = StoredFile(
            file_id=f"{kind[:3].upper()}-{self.next_id()}-{secrets.token_urlsafe(12)}",
            file_unique_id=unique,
            data=data,
            file_path=path,
            file_name=file_name,
            mime_type=mime_type,
        )
        self.files[stored.file_id] = stored
        self._files_by_path[path] = stored
        return stored

    def file_by_path(self, path: str) -> StoredFile | None:
        return self._files_by_path.get(path)

    def local_path(self, stored: StoredFile) -> str:
        """The file on disk, as a local Bot API server's getFile reports it."""
        if stored.local_path is None:
            if self._files_dir is None:
                self._tempdir = tempfile.TemporaryDirectory(prefix="librarity-sandbox-")
                self._files_dir = Path(self._tempdir.name)
            target = self._files_dir / stored.file_path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(stored.data)
            stored.local_path = str(target.resolve())
        return stored.local_path

    # --- queries --------------------------------------------------------------------------------

    def new_query(self, store: dict[str, PendingQuery], user_id: int) -> PendingQuery:
        query = PendingQuery(
            id=str(10**18 + secrets.randbelow(9 * 10**18)),
            user_id=user_id,
            created=time.monotonic(),
            answer=asyncio.get_running_loop().create_future(),
        )
        store[query.id] = query
        return query

    # --- call log and flood control -------------------------------------------------------------

    def log_call(self, method: str, params: Json, chat_id: int | None, error: str | None) -> None:
        self._call_seq += 1
        self.calls.append(CallRecord(self._call_seq, method, params, time.time(), chat_id, error))

    def check_flood(self, method: str, chat_id: int | None, paced: bool) -> None:
        for rule in self.flood_rules:
            if rule.matches(method, chat_id):
                rule.count -= 1
                if rule.count <= 0:
                    self.flood_rules.remove(rule)
                raise too_many_requests(rule.retry_after)
        if paced and self.config.rate_limit and chat_id is not None:
            self.rate_limiter.check(chat_id)

    def close(self) -> None:
        self.updates.close()
        for store in (self.callback_queries, self.pre_checkout_queries, self.inline_queries):
            for query in store.values():
                if not query.answer.done():
                    query.answer.cancel()
        if self._tempdir is not None:
            self._tempdir.cleanup()
