"""A process killed in the middle of indexing a book: the next start finishes the book.

A book is ready (searchable by its words) a second or two after it is read; the long part is adding its
dense vectors, so that is where the kill lands. Killed earlier, while reading (status "processing"),
the next start reclaims the book the same way: tests/test_ingestion_service.py covers that with a
book left processing by a dead process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import shared_data

# A real model on a real book in two processes: slow on a busy machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _env(data_dir: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_URL", "QDRANT_", "REDIS_URL", "BOT_TOKEN", "EMBEDDINGS_"))
    }
    env.update(DATA_DIR=str(data_dir), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", LOG_LEVEL="WARNING")
    return env


def _book_row(database: Path) -> dict[str, object] | None:
    if not database.exists():
        return None
    try:
        with sqlite3.connect(database, timeout=1) as connection:
            connection.row_factory = sqlite3.Row
            row = connection.execute("SELECT * FROM books ORDER BY id LIMIT 1").fetchone()
    except sqlite3.OperationalError:  # not migrated yet, or busy
        return None
    return dict(row) if row else None


def _processes_with(data_dir: Path) -> list[int]:
    """Processes still running with this DATA_DIR (e.g. a killed run's reader processes)."""
    marker = f"DATA_DIR={data_dir}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if marker in (proc / "environ").read_bytes().split(b"\0"):
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


async def _ingest(command: list[str], cwd: Path, data_dir: Path, log: Path) -> asyncio.subprocess.Process:
    # Output to a file: a pipe would keep a killed run "open" for as long as any child holds it.
    with open(log, "wb") as handle:  # noqa: ASYNC230
        return await asyncio.create_subprocess_exec(
            *command, cwd=cwd, env=_env(data_dir), stdout=handle, stderr=handle
        )


async def test_killed_during_indexing_resumes_on_next_start(tmp_path: Path) -> None:
    book = shared_data("books", "gutenberg", "chesterton-thursday.txt")  # ~480 chunks: two dense batches
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    database = data_dir / "librarity.sqlite3"
    command = [sys.executable, "-m", "bot", "ingest", str(book), "--json"]

    first = await _ingest(command, tmp_path, data_dir, tmp_path / "first.log")
    deadline = time.monotonic() + 400
    row = None
    while time.monotonic() < deadline and first.returncode is None:
        row = await asyncio.to_thread(_book_row, database)
        if row and row["status"] == "ready" and row["dense_pending"] and row["lease_owner"]:
            break
        await asyncio.sleep(0.05)
    assert first.returncode is None, "the first run finished before it could be killed"
    assert row is not None and row["status"] == "ready", row
    await asyncio.sleep(1.0)  # into the first batch of dense vectors
    first.send_signal(signal.SIGKILL)
    await first.wait()
    row = await asyncio.to_thread(_book_row, database)
    assert row is not None and row["dense_pending"] and row["lease_owner"], "the kill left the book mid-way"

    second = await _ingest(command, tmp_path, data_dir, tmp_path / "second.log")
    await asyncio.wait_for(second.wait(), 600)
    output = (tmp_path / "second.log").read_text()
    assert second.returncode == 0, output[-2000:]
    result = json.loads(output.strip().splitlines()[-1])
    assert result["status"] == "ready" and result["book_id"] == row["id"]
    assert result["chunks"] > 0 and result["title"]

    final = await asyncio.to_thread(_book_row, database)
    assert final is not None and final["status"] == "ready" and final["attempts"] == 1
    assert not final["dense_pending"] and final["lease_owner"] is None
    with sqlite3.connect(database) as connection:
        (chunks,) = connection.execute(
            "SELECT count(*) FROM chunks WHERE book_id = ?", (row["id"],)
        ).fetchone()
    assert chunks == result["chunks"]
    await asyncio.sleep(2.5)  # the watchdog looks once a second
    assert await asyncio.to_thread(_processes_with, data_dir) == [], "the killed run's readers exit with it"
