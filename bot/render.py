"""Helpers to render text for Telegram's HTML parse mode."""

from __future__ import annotations

import html

# LLM Markdown -> Telegram HTML and the 4096-character splitter (re-exported for handlers).
from bot.telegram_html import markdown_to_html, split_html, visible_length  # noqa: F401

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024


def escape(text: str | None) -> str:
    return html.escape(text or "", quote=False)


def progress_bar(fraction: float, width: int = 10) -> str:
    fraction = min(max(fraction, 0.0), 1.0)
    filled = round(fraction * width)
    return "▰" * filled + "▱" * (width - filled)
