"""Showing an answer while the model writes it, within Telegram's limits.

A typing indicator goes out at once and is renewed until the first text arrives. Then the growing
text is shown with sendMessageDraft (an animated preview Telegram keeps for a short while); where
drafts are not available, one message is edited instead. Either way updates are paced: about one a
second at first, slower as the text grows (long edits are what draws 429s), never the same text twice,
and a 429 only pushes the next update back — the stream never waits on Telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Literal

from aiogram import Bot
from aiogram.enums import ChatAction
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramNotFound, TelegramRetryAfter

from bot.render import markdown_to_html, split_html, visible_length

logger = logging.getLogger(__name__)

PREVIEW_LIMIT = 4000
TYPING_EVERY = 4.5  # Telegram shows "typing…" for about 5 seconds


def pace(length: int) -> float:
    """Seconds between updates of a preview `length` characters long."""
    return min(4.0, 1.0 + length / 1500)


class AnswerStream:
    """One answer's live preview in one chat. `await update(text)` as text grows; `await close()`."""

    def __init__(
        self,
        bot: Bot,
        chat_id: int,
        *,
        draft_id: int,
        use_drafts: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.draft_id = draft_id
        self.mode: Literal["draft", "edit"] = "draft" if use_drafts else "edit"
        self.clock = clock
        self.message_id: int | None = None  # the edited preview message, in edit mode
        self.updates = 0
        self._last_html = ""
        self._next_at = 0.0
        self._typing: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._typing_once()
        self._typing = asyncio.create_task(self._keep_typing())

    async def update(self, markdown: str) -> None:
        """Show the text so far, if it is time to and it changed."""
        now = self.clock()
        if now < self._next_at:
            return
        html = preview_html(markdown)
        if not html or html == self._last_html:
            return
        self._stop_typing()
        try:
            await self._show(html)
        except TelegramRetryAfter as error:
            self._next_at = now + error.retry_after
            return
        except TelegramAPIError as error:
            logger.info("answer preview update failed: %s", error)
            self._next_at = now + pace(visible_length(html))
            return
        self._last_html = html
        self.updates += 1
        self._next_at = now + pace(visible_length(html))

    async def _show(self, html: str) -> None:
        if self.mode == "draft":
            try:
                await self.bot.send_message_draft(chat_id=self.chat_id, draft_id=self.draft_id, text=html)
                return
            except (TelegramBadRequest, TelegramNotFound) as error:
                # No drafts here (an older server, a group chat): edit a message instead from now on.
                logger.info("drafts unavailable, editing a message instead: %s", error)
                self.mode = "edit"
        if self.message_id is None:
            sent = await self.bot.send_message(self.chat_id, html)
            self.message_id = sent.message_id
        else:
            await self.bot.edit_message_text(text=html, chat_id=self.chat_id, message_id=self.message_id)

    async def close(self) -> None:
        """Stop typing and take away an edited preview (the final answer is sent as new messages)."""
        self._stop_typing()
        if self.message_id is not None:
            with contextlib.suppress(TelegramAPIError):
                await self.bot.delete_message(self.chat_id, self.message_id)
            self.message_id = None

    def _stop_typing(self) -> None:
        if self._typing is not None:
            self._typing.cancel()
            self._typing = None

    async def _keep_typing(self) -> None:
        while True:
            await asyncio.sleep(TYPING_EVERY)
            await self._typing_once()

    async def _typing_once(self) -> None:
        with contextlib.suppress(TelegramAPIError):
            await self.bot.send_chat_action(self.chat_id, ChatAction.TYPING)


def preview_html(markdown: str) -> str:
    """The partial answer as valid HTML within one message (a long one is cut with an ellipsis)."""
    html = markdown_to_html(markdown)
    if visible_length(html) <= PREVIEW_LIMIT:
        return html
    parts = split_html(html, PREVIEW_LIMIT)
    return parts[0] + " …" if parts else ""
