"""`librarity ask` end to end: settings from the environment, the database and the index as the bot
builds them, one JSON object per question."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.cli import LOCAL_USER_ID
from bot.settings import Settings, load_settings

BOOK = """The Clockmaker

In the town of Brindle lived a clockmaker called Ansel, who built a clock that ran backwards. People
came from far away to see it strike thirteen at noon.

The Flood

In the spring the river rose and flooded the square. Ansel carried his clocks to the church tower, and
the backwards clock kept time for the whole town until the water went down.
"""


async def _shelve(settings: Settings, user_id: int, text: str, status: str = "ready") -> int:
    """A book row and its indexed chunks, as ingestion leaves them."""
    from db.engine import create_engine, create_session_factory
    from db.migrate import upgrade_async
    from db.models import Book, Chunk
    from services.search.chunking import ChunkingOptions, chunk_text
    from services.search.index import build_search_index

    await upgrade_async(settings.effective_database_url)
    engine = create_engine(settings.effective_database_url)
    chunks = chunk_text(text, options=ChunkingOptions(target_chars=200, min_chars=20))
    async with create_session_factory(engine)() as session:
        book = Book(
            user_id=user_id, file_sha256=f"{user_id}-{len(text)}", file_name="clock.txt", status=status
        )
        book.chunks = len(chunks)
        session.add(book)
        await session.flush()
        for c in chunks:
            session.add(
                Chunk(
                    book_id=book.id, seq=c.seq, text=c.text, page=c.page, chapter=c.chapter, percent=c.percent
                )
            )
        await session.commit()
        book_id = book.id
    await engine.dispose()
    index = build_search_index(settings)
    try:
        await index.index_chunks(user_id, book_id, "en", chunks)
    finally:
        await index.close()
    return book_id


@pytest.fixture
def cli_settings(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.chdir(data_dir.parent)
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    monkeypatch.setenv("LLM_ORDER", "")
    return load_settings(_env_file=None)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict]]:  # type: ignore[type-arg]
    code = main(list(argv))
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_ask_retrieve_only_json(cli_settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    book_id = asyncio.run(_shelve(cli_settings, LOCAL_USER_ID, BOOK))
    code, [result] = _run(
        capsys,
        "ask",
        str(book_id),
        "Where did Ansel carry his clocks?",
        "--retrieve-only",
        "--json",
        "--k",
        "2",
    )
    assert code == 0
    assert set(result) >= {"answer", "provider", "citations"}
    first = result["citations"][0]
    assert set(first) == {"book_id", "chunk_id", "page", "chapter", "text", "score", "percent"}
    assert first["book_id"] == book_id and "church tower" in first["text"]
    assert len(result["citations"]) <= 2
    assert result["search_ms"] > 0

    code, [result] = _run(capsys, "ask", "all", "clock that ran backwards", "--retrieve-only", "--json")
    assert code == 0 and "backwards" in result["citations"][0]["text"]


def test_ask_batch_from_a_file(
    cli_settings: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    book_id = asyncio.run(_shelve(cli_settings, LOCAL_USER_ID, BOOK))
    questions = tmp_path / "questions.txt"
    questions.write_text(
        "Who built a clock that ran backwards?\n\n"
        + json.dumps({"question": "What flooded the square?", "id": "q2"})
        + "\n",
        encoding="utf-8",
    )
    code, results = _run(
        capsys, "ask", str(book_id), "--questions", str(questions), "--retrieve-only", "--json"
    )
    assert code == 0 and len(results) == 2
    assert results[0]["question"].startswith("Who built") and "Ansel" in results[0]["citations"][0]["text"]
    assert results[1]["id"] == "q2" and "river" in results[1]["citations"][0]["text"]


def test_ask_another_users_book_is_not_found(
    cli_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    book_id = asyncio.run(_shelve(cli_settings, LOCAL_USER_ID, BOOK))
    code, [result] = _run(capsys, "ask", str(book_id), "clock", "--user", "2", "--retrieve-only", "--json")
    assert code == 1 and result["error"] == "book_not_found" and result["citations"] == []
    code, [result] = _run(capsys, "ask", "all", "clock", "--user", "2", "--retrieve-only", "--json")
    assert code == 1 and result["error"] == "no_books" and result["citations"] == []


def test_ask_defaults_to_the_sandbox_page_user_and_says_when_the_shelf_is_empty(
    cli_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ask` and `ingest` default to the user the sandbox's web page chats as, the one default; an
    empty shelf is an error, never an answer with found: true."""
    page = (Path(__file__).parents[1] / "bot" / "sandbox" / "static" / "index.html").read_text("utf-8")
    assert f'value="{LOCAL_USER_ID}"' in page and f"|| {LOCAL_USER_ID}" in page
    code, [result] = _run(capsys, "ask", "all", "Who built the clock?", "--json")
    assert code == 1 and result["error"] == "no_books" and not result["answer"]
    assert "found" not in result
    asyncio.run(_shelve(cli_settings, LOCAL_USER_ID, BOOK))
    code, [result] = _run(capsys, "ask", "all", "Who built a clock that ran backwards?", "--json")
    assert code == 0 and result["found"] and "Ansel" in result["answer"]


def test_ask_without_retrieve_only_answers(
    cli_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    book_id = asyncio.run(_shelve(cli_settings, LOCAL_USER_ID, BOOK))
    code, [result] = _run(capsys, "ask", str(book_id), "Where did Ansel carry his clocks?", "--json")
    assert code == 0
    # No LLM configured: the extractive answer, quoted from the book.
    assert result["answer"] and result["citations"]
    assert any("church tower" in c["text"] for c in result["citations"])
    assert 0 < result["search_ms"] < result["seconds"] * 1000


def test_ask_on_an_ingested_book(
    cli_settings: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pytest.importorskip("bot.cli.ingest")
    path = tmp_path / "clockmaker.txt"
    path.write_text(BOOK * 3, encoding="utf-8")
    code, [ingested] = _run(capsys, "ingest", str(path), "--json")
    assert code == 0 and ingested["status"] == "ready"
    code, [result] = _run(
        capsys, "ask", str(ingested["book_id"]), "What did the river do?", "--retrieve-only", "--json"
    )
    assert code == 0 and "flooded" in result["citations"][0]["text"]


# The bot's stand-in: holds DATA_DIR's search index until its stdin closes.
HOLDER = """
import asyncio, sys
from bot.settings import load_settings
from services.search.index import build_search_index

async def main():
    index = build_search_index(load_settings(_env_file=None))
    await index.ensure_collection()
    print("holding", index.client.holds, flush=True)
    await asyncio.to_thread(sys.stdin.read)
    await index.close()

asyncio.run(main())
"""


def test_ask_while_the_bot_holds_the_index(
    cli_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    book_id = asyncio.run(_shelve(cli_settings, LOCAL_USER_ID, BOOK))
    root = Path(__file__).resolve().parents[1]
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER], cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as bot:
        assert bot.stdin is not None and bot.stdout is not None
        try:
            assert bot.stdout.readline().split() == ["holding", "True"]
            code, [result] = _run(
                capsys, "ask", str(book_id), "Where did Ansel carry his clocks?", "--retrieve-only", "--json"
            )
            assert code == 0 and "church tower" in result["citations"][0]["text"]
            assert result["search_ms"] > 0
        finally:
            bot.stdin.close()
            assert bot.wait(60) == 0
