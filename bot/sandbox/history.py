"""The sandbox's chats kept on disk, so the web page shows the same conversation after a restart.

`librarity run` (no token) saves users and their chats to DATA_DIR/sandbox/chats.json a moment after
anything changes and when it stops, and reads them back at start. Message ids go on from where they were,
so the bot's database (which remembers message ids of progress cards and answers) and the chat agree.
Files and unpaid invoices are not kept: an old download link answers 404, as an expired one would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from bot.sandbox.models import Chat, ChatMessage, SandboxUser
from bot.sandbox.world import SandboxWorld

logger = logging.getLogger(__name__)

KEEP_MESSAGES = 500  # per chat, the newest: the page shows a conversation, not an archive
SAVE_EVERY_S = 2.0


def dump(world: SandboxWorld) -> dict[str, Any]:
    chats = []
    for chat in world.chats.values():
        kept = [m for m in chat.messages.values() if not m.deleted][-KEEP_MESSAGES:]
        chats.append(
            {
                "user": vars(chat.user),
                "next_message_id": chat.next_message_id,
                "revision": chat.revision,
                "menu_button": chat.menu_button,
                "messages": [
                    {
                        "data": m.data,
                        "outgoing": m.outgoing,
                        "revision": m.revision,
                        "keyboard": m.reply_keyboard,
                    }
                    for m in kept
                ],
            }
        )
    return {"version": 1, "chats": chats}


def restore(world: SandboxWorld, saved: dict[str, Any]) -> int:
    """Put saved chats into an empty world; the number of chats restored."""
    for item in saved.get("chats", []):
        user = SandboxUser(**item["user"])
        chat = Chat(user=user, next_message_id=int(item["next_message_id"]), revision=int(item["revision"]))
        chat.menu_button = item.get("menu_button")
        for message in item["messages"]:
            restored = ChatMessage(
                data=message["data"],
                outgoing=bool(message["outgoing"]),
                revision=int(message["revision"]),
                reply_keyboard=message.get("keyboard"),
            )
            chat.messages[restored.message_id] = restored
        world.users[user.id] = user
        world.chats[user.id] = chat
    return len(saved.get("chats", []))


class ChatHistory:
    """Reads the saved chats into a world, then saves them while it runs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._saved_at: tuple[int, int] | None = None

    def load(self, world: SandboxWorld) -> None:
        try:
            saved = json.loads(self.path.read_text("utf-8"))
            count = restore(world, saved)
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError) as error:
            logger.warning(
                "sandbox: the saved chats in %s could not be read (%s); starting empty", self.path, error
            )
            return
        self._saved_at = _mark(world)
        logger.info("sandbox: %d chats restored from %s", count, self.path)

    def save(self, world: SandboxWorld) -> None:
        mark = _mark(world)
        if mark == self._saved_at:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".partial")
        partial.write_text(json.dumps(dump(world), ensure_ascii=False), "utf-8")
        os.replace(partial, self.path)
        self._saved_at = mark

    async def keep_saving(self, world: SandboxWorld) -> None:
        """Save a moment after each change, until cancelled (then once more)."""
        try:
            while True:
                await asyncio.sleep(SAVE_EVERY_S)
                with contextlib.suppress(OSError):
                    self.save(world)
        finally:
            with contextlib.suppress(OSError):
                self.save(world)


def _mark(world: SandboxWorld) -> tuple[int, int]:
    """Changes whenever a chat does: (chats, the sum of their revisions)."""
    return len(world.chats), sum(chat.revision for chat in world.chats.values())
