"""`librarity bench ingest`: how fast books go in, beside the LangChain pipeline, in the same run.

Books: the TXT books in ../shared/data/books/ (Alice first, then by size), a PDF of Alice made at run
time with reportlab, and files/epub-epubjs/alice.epub (the same book as gutenberg/carroll-alice.txt).

Sides, each in its own process (its models loaded once, before any timing; memory is its own):
- ours: `IngestionService` as the bot runs it (reader process, chunking, `SearchIndex` with the local
  MiniLM in Qdrant Edge, SQLite rows), from the file to a ready book (the user can ask: the
  words are indexed) and on until its dense vectors are in (fully indexed);
- langchain: TextLoader / PyPDFLoader / an UnstructuredEPubLoader equivalent,
  RecursiveCharacterTextSplitter(1000, 200), HuggingFaceEmbeddings (same MiniLM files),
  QdrantVectorStore.from_documents in local mode.
The two take turns book by book (the first to go alternates), so both see the same machine load.
Pages: a PDF's own pages; otherwise 2,000-character standard pages of the text.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
ALICE_TXT = ("gutenberg", "carroll-alice.txt")
ALICE_EPUB = ("files", "epub-epubjs", "alice.epub")
STANDARD_PAGE = 2000
SIDES = ("ours", "langchain")


def add_arguments(parser: Any) -> None:
    parser.add_argument(
        "--data", type=Path, default=None, help="the shared data folder (default ../shared/data)"
    )
    parser.add_argument("--books", type=int, default=None, help="only the first N TXT books (Alice first)")
    parser.add_argument("--quick", action="store_true", help="Alice only: TXT, PDF and EPUB")
    parser.add_argument("--no-baseline", action="store_true", help="measure ours only")
    parser.add_argument("--out", type=Path, default=Path("bench-results"))


def book_cases(data: Path, *, books: int | None, quick: bool, workdir: Path) -> list[dict[str, Any]]:
    root = data / "books"
    alice = root.joinpath(*ALICE_TXT)
    others = sorted(
        (
            path for path in root.glob("*/*.txt") if path != alice and not path.stem.isupper()
        ),  # not SOURCE.txt
        key=lambda path: path.stat().st_size,
    )
    texts = [alice] if quick else [alice, *others][: books if books is not None else None]
    cases: list[dict[str, Any]] = [
        {"path": str(path), "name": path.name, "format": "txt", "label": path.stem} for path in texts
    ]
    pdf = workdir / "carroll-alice.pdf"
    make_pdf(alice, pdf)
    cases.append({"path": str(pdf), "name": pdf.name, "format": "pdf", "label": "carroll-alice (PDF)"})
    epub = data.joinpath(*ALICE_EPUB)
    if epub.exists():
        cases.append(
            {"path": str(epub), "name": epub.name, "format": "epub", "label": "carroll-alice (EPUB)"}
        )
    for index, case in enumerate(cases):
        case["index"] = index
    return cases


def make_pdf(source: Path, target: Path) -> None:
    """A plain book PDF of a text file (A5-ish pages, one paragraph per block), with reportlab."""
    from xml.sax.saxutils import escape

    from reportlab.lib.pagesizes import A5
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    style = getSampleStyleSheet()["BodyText"]
    font = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
    if font.exists():  # Unicode text (curly quotes, dashes) needs a TrueType font
        pdfmetrics.registerFont(TTFont("DejaVuSerif", str(font)))
        style.fontName = "DejaVuSerif"
    text = source.read_text(encoding="utf-8", errors="replace")
    blocks = [" ".join(block.split()) for block in text.split("\n\n") if block.strip()]
    story = [Paragraph(escape(block), style) for block in blocks]
    SimpleDocTemplate(str(target), pagesize=A5, title=source.stem).build(story)


class Side:
    """A worker process for one side; `ingest(case)` sends a book and waits for its result."""

    def __init__(self, name: str, workdir: Path) -> None:
        self.name = name
        self.workdir = workdir
        self.process: asyncio.subprocess.Process | None = None
        self.setup_seconds = 0.0

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.bench.ingest_worker", self.name, str(self.workdir),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=None,
        )  # fmt: skip
        ready = await self._read()
        self.setup_seconds = float(ready.get("setup_seconds", 0.0))

    async def ingest(self, case: dict[str, Any]) -> dict[str, Any]:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write((json.dumps(case) + "\n").encode())
        await self.process.stdin.drain()
        return await self._read()

    async def _read(self) -> dict[str, Any]:
        assert self.process is not None and self.process.stdout is not None
        while True:
            line = await self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"the {self.name} worker stopped")
            text = line.decode(errors="replace").strip()
            if text.startswith("{"):  # libraries may print other lines
                result: dict[str, Any] = json.loads(text)
                return result

    async def close(self) -> None:
        if self.process is None:
            return
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 60)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


async def run_benchmark(cases: list[dict[str, Any]], sides: list[str], workdir: Path) -> dict[str, Any]:
    workers = {name: Side(name, workdir / name) for name in sides}
    started = time.perf_counter()
    try:
        for worker in workers.values():
            await worker.start()
            print(f"{worker.name}: ready in {worker.setup_seconds:.1f}s", file=sys.stderr)
        rows = []
        for case in cases:
            order = sides if case["index"] % 2 == 0 else list(reversed(sides))
            results = {}
            for name in order:
                results[name] = await workers[name].ingest(case)
            rows.append({**case, **{name: results[name] for name in sides}})
            print(
                f"  {case['label']}: " + ", ".join(f"{n} {results[n]['seconds']}s" for n in sides),
                file=sys.stderr,
            )
    finally:
        for worker in workers.values():
            await worker.close()
    for row in rows:
        ours = row.get("ours", {})
        row["pages"] = (
            ours.get("pages")
            if row["format"] == "pdf"
            else round((ours.get("chars") or 0) / STANDARD_PAGE, 1)
        )
        for name in sides:
            side = row[name]
            seconds = side.get("seconds") or 0.0
            side["pages_per_s"] = round(row["pages"] / seconds, 2) if seconds and row["pages"] else None
            side["chunks_per_s"] = round(side.get("chunks", 0) / seconds, 1) if seconds else None
        if "langchain" in row and row["ours"].get("seconds"):
            row["speedup"] = round(row["langchain"]["seconds"] / row["ours"]["seconds"], 2)
            if row["ours"].get("ready_seconds"):
                row["ready_speedup"] = round(row["langchain"]["seconds"] / row["ours"]["ready_seconds"], 2)
    totals: dict[str, Any] = {}
    for name in sides:
        totals[name] = {
            "seconds": round(sum(row[name].get("seconds", 0.0) for row in rows), 2),
            "chunks": sum(row[name].get("chunks", 0) for row in rows),
            "peak_mib": max((row[name].get("peak_mib", 0.0) for row in rows), default=0.0),
            "setup_seconds": workers[name].setup_seconds,
        }
    pages = sum(row["pages"] or 0 for row in rows)
    for name in sides:
        seconds = totals[name]["seconds"]
        totals[name]["pages_per_s"] = round(pages / seconds, 2) if seconds else None
        totals[name]["chunks_per_s"] = round(totals[name]["chunks"] / seconds, 1) if seconds else None
    totals["ours"]["ready_seconds"] = round(sum(row["ours"].get("ready_seconds", 0.0) for row in rows), 2)
    if "langchain" in totals and totals["ours"]["seconds"]:
        totals["speedup"] = round(totals["langchain"]["seconds"] / totals["ours"]["seconds"], 2)
        if totals["ours"]["ready_seconds"]:
            totals["ready_speedup"] = round(
                totals["langchain"]["seconds"] / totals["ours"]["ready_seconds"], 2
            )
    return {
        "benchmark": "ingest",
        "sides": sides,
        "rows": rows,
        "totals": {**totals, "pages": pages},
        "seconds": round(time.perf_counter() - started, 1),
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def markdown_table(result: dict[str, Any]) -> str:
    sides = result["sides"]
    baseline = "langchain" in sides
    head = [
        "book",
        "pages",
        "ours ready s",
        "ours fully indexed s",
        "ours pages/s",
        "ours chunks/s (chunks)",
        "ours peak MiB",
        "ours read+chunk s",
    ]
    if baseline:
        head += [
            "LangChain s",
            "LangChain pages/s",
            "LangChain chunks/s (chunks)",
            "LangChain peak MiB",
            "speedup to ready",
            "speedup fully indexed",
        ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def cells(side: dict[str, Any]) -> list[str]:
        if "error" in side:
            return [f"error: {side['error'][:40]}", "", "", ""]
        return [
            f"{side['seconds']:.2f}",
            f"{side['pages_per_s']}" if side.get("pages_per_s") is not None else "-",
            f"{side['chunks_per_s']} ({side.get('chunks', 0)})",
            f"{side['peak_mib']:.0f}",
        ]

    def reading(side: dict[str, Any]) -> str:
        stages = side.get("stages") or {}
        return f"{stages.get('reading', 0) + stages.get('chunking', 0):.2f}" if stages else "-"

    def ready(side: dict[str, Any]) -> str:
        return f"{side['ready_seconds']:.2f}" if side.get("ready_seconds") else "-"

    for row in result["rows"]:
        ours = row["ours"]
        line = [row["label"], str(row["pages"]), ready(ours), *cells(ours), reading(ours)]
        if baseline:
            line += [
                *cells(row["langchain"]),
                f"{row.get('ready_speedup', '-')}x",
                f"{row.get('speedup', '-')}x",
            ]
        lines.append("| " + " | ".join(line) + " |")
    totals = result["totals"]
    read_total = sum(
        (row["ours"].get("stages") or {}).get(stage, 0)
        for row in result["rows"]
        for stage in ("reading", "chunking")
    )
    line = [
        "**all**",
        str(round(totals["pages"], 1)),
        ready(totals["ours"]),
        *cells(totals["ours"]),
        f"{read_total:.2f}",
    ]
    if baseline:
        line += [
            *cells(totals["langchain"]),
            f"**{totals.get('ready_speedup', '-')}x**",
            f"**{totals.get('speedup', '-')}x**",
        ]
    lines.append("| " + " | ".join(line) + " |")
    setup = ", ".join(f"{name} {totals[name]['setup_seconds']:.1f}s" for name in sides)
    lines += ["", f"Model loading and warm-up, before any timing: {setup}."]
    return "\n".join(lines)


def write_result(result: dict[str, Any], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"ingest-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


async def run(args: Any, settings: Any) -> int:
    """The `bench ingest` entry point (bot/cli/bench.py dispatches here)."""
    data = args.data or DATA
    sides = ["ours"] if args.no_baseline else list(SIDES)
    with tempfile.TemporaryDirectory(prefix="librarity-bench-ingest-") as tmp:
        workdir = Path(tmp)
        cases = await asyncio.to_thread(book_cases, data, books=args.books, quick=args.quick, workdir=workdir)
        result = await run_benchmark(cases, sides, workdir)
    path = write_result(result, args.out)
    print(markdown_table(result))
    print(f"\n{result['seconds']}s in all; results in {path}")
    return 0
