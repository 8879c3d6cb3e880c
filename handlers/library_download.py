"""Fetching a document from Telegram: streamed with progress, or read from disk with a local Bot API server."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import Document

from services.ingestion.errors import ErrorCode, IngestionError

CHUNK = 256 * 1024


class TooBigForTelegram(Exception):
    """getFile refused: the cloud Bot API serves bots files of up to 20 MB."""


class DownloadFailed(Exception):
    """Telegram gave no way to fetch the file."""


async def fetch_document(
    bot: Bot, document: Document, *, max_bytes: int, on_progress: Callable[[float], None] | None = None
) -> bytes | Path:
    """The document's bytes, or its path when a local Bot API server keeps it on this disk."""
    try:
        file = await bot.get_file(document.file_id)
    except TelegramBadRequest as error:
        if "too big" in error.message.lower():
            raise TooBigForTelegram from error
        raise
    if not file.file_path:
        raise DownloadFailed(document.file_id)
    # A local Bot API server (--local) answers an absolute path on its own disk and serves no downloads.
    if os.path.isabs(file.file_path):
        local = Path(file.file_path)
        if await asyncio.to_thread(local.is_file):
            return local
    total = file.file_size or document.file_size or 0
    url = bot.session.api.file_url(bot.token, file.file_path)
    buffer = bytearray()
    async for block in bot.session.stream_content(url=url, timeout=120, chunk_size=CHUNK):
        buffer.extend(block)
        if len(buffer) > max_bytes:
            raise IngestionError(ErrorCode.TOO_LARGE, size=len(buffer), limit=max_bytes)
        if on_progress is not None and total:
            on_progress(min(1.0, len(buffer) / total))
    return bytes(buffer)
