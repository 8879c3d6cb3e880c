"""A book the server's disk cannot hold: the uploads folder (DATA_DIR/files) is a real 1 MB tmpfs, so saving a
bigger file fails with ENOSPC in the real write path. The user is told at once, admins get an alert, no
half-written file is left, and the next book that fits is read as usual."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.runner import AppFactory, librarity_app
from tests.e2e.client import SandboxHarness, text_of
from tests.e2e.test_library import small_book, upload

ADMIN = 7_700_001


@pytest.fixture
def files_dir_on_a_tiny_disk(data_dir: Path) -> Iterator[Path]:
    files = data_dir / "files"
    files.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(files)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a 1 MB tmpfs here (it needs root): {mounted.stderr.strip()}")
    yield files
    subprocess.run(["umount", "--lazy", str(files)], check=False)


@pytest.fixture
def sandbox_app_factory(make_settings: Any, files_dir_on_a_tiny_disk: Path) -> AppFactory:
    return librarity_app(make_settings(admin_ids=[ADMIN], alerts_flush_seconds=0.2, billing_trial_days=0))


def book_of(kilobytes: int) -> bytes:
    line = "The keeper of the lighthouse counted the ships that passed in the night and wrote down the weather.\n"
    return (line * (kilobytes * 1024 // len(line) + 1)).encode()


async def test_a_book_the_disk_cannot_hold(
    sandbox_bot: SandboxHarness, files_dir_on_a_tiny_disk: Path
) -> None:
    admin = sandbox_bot.user(ADMIN)
    welcome = await admin.ask("/start")
    user = sandbox_bot.user()

    sent = await user.send_document(book_of(1500), filename="atlas.txt")
    progress = await user.wait_reply(int(sent["message_id"]), timeout=30)
    told = await user.wait_edit(
        int(progress["message_id"]), lambda m: "couldn't save your book" in text_of(m), timeout=60
    )
    assert "out of space" in text_of(told)
    assert await asyncio.to_thread(os.listdir, files_dir_on_a_tiny_disk) == [], "no half-written file is left"

    alert = await admin.wait_reply(int(welcome["message_id"]), contains="UploadNotStored", timeout=30)
    assert "No space left on device" in text_of(alert)

    _, card = await upload(user, small_book(1), "keeper.txt")
    assert "indexed" in text_of(card), text_of(card)
