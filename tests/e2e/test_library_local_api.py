"""With a local Bot API server the 20 MB download limit is lifted and files are read from its disk."""

from __future__ import annotations

from typing import Any

import pytest

from bot.sandbox.models import SandboxConfig
from bot.sandbox.runner import AppFactory, librarity_app
from tests.conftest import shared_data
from tests.e2e.client import SandboxHarness, UserClient, text_of
from tests.e2e.test_library import upload


@pytest.fixture
def sandbox_config(tmp_path: Any) -> SandboxConfig:
    return SandboxConfig(local_mode=True, files_dir=str(tmp_path / "bot-api-files"))


@pytest.fixture
def sandbox_app_factory(make_settings: Any) -> AppFactory:
    return librarity_app(
        make_settings(telegram_api_is_local=True, max_file_mb=30, billing_free_max_file_mb=30)
    )


async def test_file_over_20_mb_is_taken_from_the_local_server(
    sandbox_bot: SandboxHarness, user: UserClient
) -> None:
    # 21 MB that is quick to judge: an image, so the answer shows the file was read, not refused by size.
    big = b"\x89PNG\r\n\x1a\n" + b"\x00" * (21 * 1024 * 1024)
    _, final = await upload(user, big, "scan.pdf")
    assert "can't read this kind of file" in text_of(final), text_of(final)
    files = await user.control.calls("getFile")
    assert files and files[-1]["ok"], "getFile answered with a local path, no 'file is too big'"


async def test_book_from_the_local_server(sandbox_bot: SandboxHarness, user: UserClient) -> None:
    _, card = await upload(user, shared_data("books", "gutenberg", "blake-poems.txt"))
    assert "indexed" in text_of(card)


async def test_over_the_configured_limit_is_refused_before_download(
    sandbox_bot: SandboxHarness, user: UserClient
) -> None:
    sent = await user.send_document(b"x" * (31 * 1024 * 1024), filename="huge.txt")
    reply = await user.wait_reply(int(sent["message_id"]))
    assert "too large" in text_of(reply) and "30 MB" in text_of(reply)
    assert await user.control.calls("getFile") == []
