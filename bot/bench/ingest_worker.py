"""One side of `librarity bench ingest`, in its own process so that its memory is its own.

`python -m bot.bench.ingest_worker ours|langchain WORKDIR` loads its models once, prints
{"ready": ..., "setup_seconds": ...}, then reads one JSON case a line from stdin ({"index", "path",
"name", "format"}) and answers one JSON result a line: seconds, chunks, pages (PDF), chars, peak RSS of
this process and its children while the book was processed; ours adds ready_seconds, the time until the
book was ready to talk to (its dense vectors still being added).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

MiB = 1024 * 1024


class PeakMemory:
    """Samples the RSS of this process and its children every 20 ms; `peak` since the last reset."""

    def __init__(self) -> None:
        import psutil

        self._process = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _rss(self) -> int:
        total = self._process.memory_info().rss
        for child in self._process.children(recursive=True):
            try:
                total += child.memory_info().rss
            except Exception:  # the child ended meanwhile
                continue
        return total

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self._rss())
            except Exception:
                pass
            time.sleep(0.02)

    def reset(self) -> None:
        self.peak = self._rss()


# ---------------------------------------------------------------- the LangChain baseline


def epub_documents(path: Path) -> list[Any]:
    """What UnstructuredEPubLoader gives (one Document with the book's text in spine order), without
    `unstructured` and pandoc, which are not installed here: the XHTML of the spine, as text."""
    from langchain_core.documents import Document
    from lxml import etree, html

    with zipfile.ZipFile(path) as archive:
        container = etree.fromstring(archive.read("META-INF/container.xml"))
        opf_path = container.xpath("//*[local-name()='rootfile']/@full-path")[0]
        opf = etree.fromstring(archive.read(opf_path))
        base = opf_path.rsplit("/", 1)[0] + "/" if "/" in opf_path else ""
        items = {item.get("id"): item.get("href") for item in opf.xpath("//*[local-name()='item']")}
        texts = []
        for ref in opf.xpath("//*[local-name()='itemref']/@idref"):
            href = items.get(ref)
            if href:
                texts.append(html.fromstring(archive.read(base + href)).text_content())
    return [Document(page_content="\n\n".join(texts), metadata={"source": str(path)})]


class LangChainSide:
    """The pipeline a LangChain user writes by default, with the same MiniLM model."""

    def __init__(self, workdir: Path) -> None:
        from langchain_huggingface import HuggingFaceEmbeddings

        from services.search.embeddings import local_model_path

        self.workdir = workdir
        self.embeddings = HuggingFaceEmbeddings(model_name=local_model_path(), model_kwargs={"device": "cpu"})
        self.embeddings.embed_query("warm up")

    def ingest(self, case: dict[str, Any]) -> dict[str, Any]:
        from langchain_community.document_loaders import PyPDFLoader, TextLoader
        from langchain_qdrant import QdrantVectorStore
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        path = Path(case["path"])
        if case["format"] == "pdf":
            docs = PyPDFLoader(str(path)).load()
        elif case["format"] == "epub":
            docs = epub_documents(path)
        else:
            docs = TextLoader(str(path), autodetect_encoding=True).load()
        chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
        store = QdrantVectorStore.from_documents(
            chunks,
            self.embeddings,
            path=str(self.workdir / f"qdrant-{case['index']}"),
            collection_name="book",
        )
        store.client.close()
        return {
            "chunks": len(chunks),
            "pages": len(docs) if case["format"] == "pdf" else None,
            "chars": sum(len(doc.page_content) for doc in docs),
        }


# ---------------------------------------------------------------- ours


class OurSide:
    """Librarity's IngestionService as the bot runs it (worker process, search index, database)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(self._start())

    async def _start(self) -> None:
        from bot.settings import load_settings
        from bot.wiring.ingestion import standalone

        settings = load_settings(_env_file=None, data_dir=self.workdir, database_url=None, qdrant_url=None)
        self._context = standalone(settings)
        self.service = await self._context.__aenter__()
        embedder = getattr(self.service._index, "embedder", None)
        if embedder is not None and hasattr(embedder, "warm"):
            await embedder.warm()
        # The reader process, the collection and the database are made here, as in a running bot.
        warm = self.workdir / "warm-up.txt"
        warm.write_text(
            "A short warm-up text. It has two sentences.\n\nAnd a second paragraph.", encoding="utf-8"
        )
        await self.service.ingest(1, warm, warm.name)

    def ingest(self, case: dict[str, Any]) -> dict[str, Any]:
        return self.loop.run_until_complete(self._ingest(case))

    async def _ingest(self, case: dict[str, Any]) -> dict[str, Any]:
        """To ready (the user can ask: words indexed), then on until the dense vectors are in."""
        began = time.perf_counter()
        book = await self.service.ingest(
            100 + int(case["index"]), Path(case["path"]), str(case["name"]), dense=False
        )
        ready_seconds = time.perf_counter() - began
        book = await self.service.wait_dense(book.id) or book
        return {
            "ready_seconds": round(ready_seconds, 3),
            "chunks": book.chunks,
            "pages": book.pages,
            "chars": book.chars,
            "status": book.status,
            "error_code": book.error_code,
            "stages": book.timings,
        }

    def close(self) -> None:
        self.loop.run_until_complete(self._context.__aexit__(None, None, None))


def main() -> int:
    side_name, workdir = sys.argv[1], Path(sys.argv[2])
    workdir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    memory = PeakMemory()
    started = time.perf_counter()
    side: Any = OurSide(workdir) if side_name == "ours" else LangChainSide(workdir)
    print(
        json.dumps({"ready": side_name, "setup_seconds": round(time.perf_counter() - started, 2)}), flush=True
    )
    for line in sys.stdin:
        if not line.strip():
            continue
        case = json.loads(line)
        memory.reset()
        began = time.perf_counter()
        try:
            result = side.ingest(case)
        except Exception as error:  # a failing book is a result too
            result = {"error": f"{type(error).__name__}: {error}"[:300]}
        result["seconds"] = round(time.perf_counter() - began, 3)
        result["peak_mib"] = round(memory.peak / MiB, 1)
        print(json.dumps(result), flush=True)
    if isinstance(side, OurSide):
        side.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
