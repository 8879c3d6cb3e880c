"""Admin alerts: new users, payments, refunds, failed books, unexpected errors, LLM providers down and back.

Alerts are collected and sent every `flush_interval` seconds as one message per admin chat, grouped by
kind, so a burst of a hundred errors is one message, not a hundred. The daily report is sent as it is.
Recipients: ADMIN_CHAT_ID when set, otherwise every id in ADMIN_IDS (in their own language).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import User
from locales.i18n import I18n
from services.notifications.sender import OutgoingMessage, Sender

logger = logging.getLogger(__name__)

# The order sections appear in within one grouped message.
ALERT_KINDS = ("error", "llm_down", "llm_up", "book_failed", "payment", "refund", "new_user")
MAX_ITEMS_SHOWN = 10


@dataclass(slots=True)
class Alert:
    kind: str
    data: dict[str, Any] = field(default_factory=dict)


class AdminAlerts:
    """Buffers alerts and sends them grouped; see the module docstring."""

    def __init__(
        self,
        sender: Sender,
        i18n: I18n,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        admin_ids: list[int],
        admin_chat_id: int | None = None,
        flush_interval: float = 30.0,
    ) -> None:
        self.sender = sender
        self.i18n = i18n
        self.session_factory = session_factory
        self.admin_ids = list(admin_ids)
        self.admin_chat_id = admin_chat_id
        self.flush_interval = flush_interval
        self._pending: list[Alert] = []
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @property
    def enabled(self) -> bool:
        return bool(self.admin_ids or self.admin_chat_id)

    def add(self, kind: str, **data: Any) -> None:
        """Queue an alert; it goes out with the next flush."""
        if self.enabled:
            self._pending.append(Alert(kind, data))

    # Convenience entry points, one per kind, so callers cannot misspell the data.
    def new_user(self, user_id: int, name: str, username: str | None, language: str) -> None:
        self.add("new_user", user_id=user_id, name=name, username=username, language=language)

    def payment(self, user_id: int, amount: float, currency: str, what: str = "") -> None:
        self.add("payment", user_id=user_id, amount=amount, currency=currency, what=what)

    def refund(self, user_id: int, amount: float, currency: str) -> None:
        self.add("refund", user_id=user_id, amount=amount, currency=currency)

    def book_failed(self, user_id: int, book_id: int, title: str, error_code: str) -> None:
        self.add("book_failed", user_id=user_id, book_id=book_id, title=title, error_code=error_code)

    def error(self, update_id: int | None, exception: BaseException) -> None:
        self.add("error", update_id=update_id, type=type(exception).__name__, message=str(exception)[:200])

    def llm_health(self, provider: str, up: bool, detail: str = "") -> None:
        self.add("llm_up" if up else "llm_down", provider=provider, detail=detail[:200])

    async def recipients(self) -> list[tuple[int, str]]:
        """(chat id, locale) of everyone who gets alerts."""
        if self.admin_chat_id:
            return [(self.admin_chat_id, self.i18n.default)]
        async with self.session_factory() as session:
            rows = await session.execute(select(User.id, User.language).where(User.id.in_(self.admin_ids)))
            languages = {int(uid): str(lang) for uid, lang in rows.all()}
        return [(admin_id, languages.get(admin_id, self.i18n.default)) for admin_id in self.admin_ids]

    async def flush(self) -> int:
        """Send what is queued as one message per recipient; how many messages went out."""
        async with self._lock:
            alerts, self._pending = self._pending, []
            if not alerts:
                return 0
            sent = 0
            for chat_id, locale in await self.recipients():
                text = self.render(alerts, locale)
                result = await self.sender.send(chat_id, OutgoingMessage(text=text))
                sent += int(result.ok)
            return sent

    async def send_now(self, text_by_locale: dict[str, str]) -> int:
        """A message that is not grouped (the daily report): straight to every recipient."""
        if not self.enabled:
            return 0
        sent = 0
        for chat_id, locale in await self.recipients():
            text = text_by_locale.get(locale) or text_by_locale[self.i18n.default]
            sent += int((await self.sender.send(chat_id, OutgoingMessage(text=text))).ok)
        return sent

    def render(self, alerts: list[Alert], locale: str) -> str:
        by_kind: dict[str, list[Alert]] = defaultdict(list)
        for alert in alerts:
            by_kind[alert.kind].append(alert)
        t = self.i18n.get
        sections = []
        for kind in sorted(by_kind, key=lambda k: ALERT_KINDS.index(k) if k in ALERT_KINDS else 99):
            items = by_kind[kind]
            key = kind.replace("_", "-")
            lines = [t(locale, f"alert-{key}-title", count=len(items))]
            if kind == "error":
                lines += self._error_lines(items, locale)
            else:
                for alert in items[:MAX_ITEMS_SHOWN]:
                    lines.append("• " + t(locale, f"alert-{key}-item", **_escaped(alert.data)))
                if len(items) > MAX_ITEMS_SHOWN:
                    lines.append(t(locale, "alert-more", count=len(items) - MAX_ITEMS_SHOWN))
            sections.append("\n".join(lines))
        return "\n\n".join(sections)[:4000]

    def _error_lines(self, items: list[Alert], locale: str) -> list[str]:
        # Errors group by type: "ValueError ×12 (updates 5, 6, 7…): the last message".
        groups: dict[str, list[Alert]] = defaultdict(list)
        for alert in items:
            groups[str(alert.data.get("type"))].append(alert)
        lines = []
        for type_name, group in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            ids = [str(a.data["update_id"]) for a in group if a.data.get("update_id") is not None]
            shown = ", ".join(ids[:5]) + ("…" if len(ids) > 5 else "")
            lines.append(
                "• "
                + self.i18n.get(
                    locale,
                    "alert-error-item",
                    type=html.escape(type_name),
                    count=len(group),
                    updates=shown or "-",
                    message=html.escape(str(group[-1].data.get("message") or "")),
                )
            )
        return lines

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="admin-alerts")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await self.flush()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            try:
                await self.flush()
            except Exception:
                logger.exception("sending admin alerts failed")


def _escaped(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if value is None:
            out[key] = "-"
        elif key.endswith("_id"):  # ids as they are: Fluent would group the digits of a number
            out[key] = str(value)
        elif isinstance(value, str):
            out[key] = html.escape(value)
        else:
            out[key] = value
    return out
