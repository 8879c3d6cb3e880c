"""Qdrant Edge as the embedded engine: a local-mode folder copied in once, and one folder shared by the
bot's processes through the one that holds it (Edge locks its shards to one process)."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import pytest
from qdrant_client import QdrantClient

from services.search.chunking import ChunkingOptions, chunk_text
from services.search.edge_folder import EdgeFolder
from services.search.index import SearchIndex, build_search_index, collection_name
from tests.ingestion_helpers import CountingEmbedder, make_index

ROOT = Path(__file__).resolve().parents[1]
OPTIONS = ChunkingOptions(target_chars=200, min_chars=20)
HARBOUR = """The Harbour

Old Martha kept the lighthouse on the northern cliff for forty years. Every night she climbed the ninety
steps and lit the great lamp, so that the fishing boats could find the harbour in the fog.

One winter a storm broke the lamp's glass. Martha carried a lantern up the tower and held it in the window
until morning, and the boats came home safe."""
BAKERY = """The Bakery

In the village below, a baker named Tobias made rye bread with caraway seeds. He rose at three in the
morning to light his oven, and the whole street smelled of bread by five.

Tobias sold his loaves at the Saturday market, where the children begged for his honey buns."""

# A stand-in for the bot: holds the folder, indexes a book, and waits for a line on stdin; then it
# prints the user's point count (the other process's writes included) and exits.
HOLDER = """
import asyncio, sys
from pathlib import Path
from services.search.chunking import chunk_text
from services.search.edge_folder import EdgeFolder
from services.search.index import SearchIndex
from tests.ingestion_helpers import CountingEmbedder
from tests.test_search_edge import HARBOUR, OPTIONS

async def main():
    index = SearchIndex(EdgeFolder(Path(sys.argv[1])), CountingEmbedder(), "test_chunks")
    await index.index_chunks(1, 10, "en", chunk_text(HARBOUR, options=OPTIONS))
    print("holding", index.client.holds, flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    print("count", await index.count(1), flush=True)
    await index.close()

asyncio.run(main())
"""


def _chunks(text: str) -> list:  # type: ignore[type-arg]
    return chunk_text(text, options=OPTIONS)


async def test_a_local_mode_folder_is_copied_into_edge_once(
    make_settings, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings()
    embedder = CountingEmbedder()
    name = collection_name(settings.qdrant_collection, embedder)  # type: ignore[arg-type]
    old = SearchIndex(QdrantClient(path=str(settings.qdrant_local_mode_path)), embedder, name, local=True)  # type: ignore[arg-type]
    await old.index_chunks(1, 10, "en", _chunks(HARBOUR))
    await old.index_chunks(2, 20, "en", _chunks(BAKERY), dense=False)  # its dense vectors still to come
    before = [(h.book_id, h.seq, h.text) for h in await old.search(1, "lantern in the storm", k=3)]
    lexical_before = [(h.seq, h.text) for h in await old.search(2, "caraway rye", mode="lexical")]
    counts = (await old.count(1), await old.count(2))
    await old.close()
    embedded = embedder.embedded
    # A copy cut short by a crash is started again.
    (settings.qdrant_path / f"{name}.migrating").mkdir(parents=True)

    caplog.set_level(logging.INFO, logger="services.search.edge")
    index = build_search_index(settings, embedder=embedder)  # type: ignore[arg-type]
    try:
        await index.ensure_collection()
        assert f"copied {sum(counts)} / {sum(counts)} points" in caplog.text
        assert not (settings.qdrant_path / f"{name}.migrating").exists()
        assert embedder.embedded == embedded  # vectors copied, nothing embedded again
        assert (await index.count(1), await index.count(2)) == counts
        assert [
            (h.book_id, h.seq, h.text) for h in await index.search(1, "lantern in the storm", k=3)
        ] == before
        assert [
            (h.seq, h.text) for h in await index.search(2, "caraway rye", mode="lexical")
        ] == lexical_before
        assert await index.search(2, "caraway rye", mode="dense") == []
        await index.add_dense(2, 20, _chunks(BAKERY))  # the background dense stage finishes it
        assert (await index.search(2, "caraway rye", mode="dense"))[0].book_id == 20
    finally:
        await index.close()

    caplog.clear()
    again = build_search_index(settings, embedder=embedder)  # type: ignore[arg-type]
    try:
        await again.ensure_collection()
        assert "copying" not in caplog.text  # once
        assert await again.count(2) == counts[1]
        assert settings.qdrant_local_mode_path.is_dir()  # the old folder is left as it was
    finally:
        await again.close()


async def test_two_indexes_on_one_folder_search_and_write_at_once(tmp_path: Path) -> None:
    holder = make_index(tmp_path / "edge")
    other = make_index(tmp_path / "edge")  # in this process too, it must go through the holder
    try:
        await holder.index_chunks(1, 10, "en", _chunks(HARBOUR))
        assert isinstance(holder.client, EdgeFolder) and holder.client.holds
        searches = [
            index.search(1, question, k=2)
            for index in (holder, other)
            for question in ("lantern storm", "lighthouse fog", "rye bread caraway") * 8
        ]
        writes = [
            other.index_chunks(1, 11, "en", _chunks(BAKERY)),
            holder.index_chunks(2, 30, "en", _chunks(BAKERY)),
        ]
        found, _ = await asyncio.gather(asyncio.gather(*searches), asyncio.gather(*writes))
        assert isinstance(other.client, EdgeFolder) and not other.client.holds
        questions = ("lantern storm", "lighthouse fog", "rye bread caraway") * 16
        for question, hits in zip(questions, found, strict=True):
            assert all(hit.book_id in (10, 11) for hit in hits)
            if question != "rye bread caraway":
                assert hits[0].book_id == 10
        assert await other.count(1, 11) == await holder.count(1, 11) == len(_chunks(BAKERY))
        assert (await other.search(1, "caraway seeds", k=1))[0].book_id == 11
        assert (await other.search(2, "caraway seeds", k=1))[0].book_id == 30
        assert await other.copy_book(2, 30, 3, 40) == len(_chunks(BAKERY))
        await other.delete_book(2, 30)
        assert (await holder.count(2), await holder.count(3)) == (0, len(_chunks(BAKERY)))
    finally:
        await other.close()
        await holder.close()


async def test_another_process_uses_the_folder_through_its_holder_and_takes_it_over(tmp_path: Path) -> None:
    folder = tmp_path / "edge"
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HOLDER,
        str(folder),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert holder.stdin is not None and holder.stdout is not None
    index = make_index(folder)
    try:
        assert (await asyncio.wait_for(holder.stdout.readline(), 60)).decode().split() == ["holding", "True"]
        hits = await index.search(1, "lantern in the storm", k=1)
        assert hits[0].book_id == 10 and "lantern" in hits[0].text
        assert isinstance(index.client, EdgeFolder) and not index.client.holds
        await index.index_chunks(1, 11, "en", _chunks(BAKERY))  # written by the holder
        holder.stdin.write(b"go on\n")
        await holder.stdin.drain()
        line = (await asyncio.wait_for(holder.stdout.readline(), 60)).decode().split()
        assert line == ["count", str(len(_chunks(HARBOUR)) + len(_chunks(BAKERY)))]
        assert await asyncio.wait_for(holder.wait(), 60) == 0

        # The holder has gone: the next call takes the folder over, with everything in it.
        assert (await index.search(1, "caraway rye bread", k=1))[0].book_id == 11
        assert index.client.holds
        assert await index.count(1, 10) == len(_chunks(HARBOUR))
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()
        await index.close()


async def test_a_holder_that_crashed_is_taken_over_with_its_writes(tmp_path: Path) -> None:
    folder = tmp_path / "edge"
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HOLDER,
        str(folder),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert holder.stdout is not None
    index = make_index(folder)
    try:
        assert (await asyncio.wait_for(holder.stdout.readline(), 60)).decode().split() == ["holding", "True"]
        holder.kill()  # no clean-up: its endpoint.json stays behind, its lock goes with the process
        await holder.wait()
        assert (folder / "endpoint.json").exists()
        hits = await index.search(1, "lantern in the storm", k=1)
        assert isinstance(index.client, EdgeFolder) and index.client.holds
        assert hits[0].book_id == 10 and await index.count(1, 10) == len(_chunks(HARBOUR))
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()
        await index.close()
