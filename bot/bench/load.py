"""`librarity bench load`: the bot under load in the sandbox, driven over HTTP like real people.

The sandbox (the Bot API emulator with the real bot polling it, bot/sandbox/runner.py) runs on a temporary
DATA_DIR with SQLite and no LLM (answers are extractive). Before anything is measured, every asker and
the flooder send the same small book (Alice, ../shared/data/books/gutenberg) and wait until its card says
it is ready with search by meaning in.

Then, at once: N users (--users, 30) each ask a question about the book, and one user floods M messages
(--flood, 200) in a burst; all the while a bystander sends /start about once a second, timing each reply.
Reported: the bystander's reply latency and the askers' answer latency (p50/p95), answers received, error
replies ("something went wrong", counted over every chat), and the process's RSS (its children included)
idle before the questions (the model loaded, the book in), at its peak and at the end. Figures are
measured, never asserted.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import psutil

logger = logging.getLogger(__name__)

BOOK = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "books"
    / "gutenberg"
    / "carroll-alice.txt"
)
QUESTION = "What did Alice see when she fell down the rabbit hole?"
FIRST_ASKER = 810_000_001
FLOODER = 800_000_001
BYSTANDER = 800_000_002
READY_TIMEOUT = 600.0
ANSWER_TIMEOUT = 180.0
START_TIMEOUT = 30.0
START_EVERY = 1.0

Message = dict[str, Any]


def add_arguments(parser: Any) -> None:
    parser.add_argument("--users", type=int, default=30, help="users asking a question at once (default 30)")
    parser.add_argument(
        "--flood", type=int, default=200, help="messages one user sends in a burst (default 200)"
    )
    parser.add_argument("--book", type=Path, default=BOOK, help="the book the askers ask about")
    parser.add_argument(
        "--questions",
        type=int,
        default=0,
        help="a soak instead of the burst: this many different questions in all, a few at a time, and the "
        "RSS after warm-up against the end (default 0: the burst)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")


def text_of(message: Message) -> str:
    return str(message.get("text") or message.get("caption") or "")


def is_answer(message: Message) -> bool:
    """An answer carries the buttons to its sources."""
    markup = message.get("reply_markup") or {}
    return any(
        str(button.get("callback_data", "")).startswith("chat:src:")
        for row in markup.get("inline_keyboard", [])
        for button in row
    )


class Person:
    """One user of the sandbox's user API (POST messages and documents, GET what the bot showed them)."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, user_id: int, poll: float = 0.1) -> None:
        self.http = http
        self.base = f"{base_url}/api/users/{user_id}"
        self.user_id = user_id
        self.poll = poll

    async def send(self, text: str) -> int:
        async with self.http.post(
            f"{self.base}/messages", json={"text": text, "language_code": "en"}
        ) as reply:
            reply.raise_for_status()
            return int((await reply.json())["message"]["message_id"])

    async def send_file(self, path: Path) -> int:
        form = aiohttp.FormData()
        form.add_field("file", await asyncio.to_thread(path.read_bytes), filename=path.name)
        form.add_field("language_code", "en")
        async with self.http.post(f"{self.base}/documents", data=form) as reply:
            reply.raise_for_status()
            return int((await reply.json())["message"]["message_id"])

    async def messages(self, after: int = 0) -> list[Message]:
        async with self.http.get(f"{self.base}/messages", params={"after": str(after)}) as reply:
            reply.raise_for_status()
            return list((await reply.json())["messages"])

    async def wait_for(self, after: int, found: Callable[[Message], bool], timeout: float) -> Message | None:  # noqa: ASYNC109 - a polling deadline
        """The first bot message after `after` that `found` accepts, or None when the time is up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in await self.messages(after):
                if found(message):
                    return message
            await asyncio.sleep(self.poll)
        return None


class MemoryWatch:
    """This process's RSS with its children's, sampled until stopped."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peak = 0
        self._task: asyncio.Task[None] | None = None

    @staticmethod
    def rss() -> int:
        process = psutil.Process()
        total = process.memory_info().rss
        for child in process.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                continue
        return total

    async def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, await asyncio.to_thread(self.rss))
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._sample())

    async def stop(self) -> int:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        end = await asyncio.to_thread(self.rss)
        self.peak = max(self.peak, end)
        return end


SUBJECTS = (
    "the White Rabbit",
    "the Cheshire Cat",
    "the Queen of Hearts",
    "the Hatter",
    "the March Hare",
    "the Duchess",
    "the Caterpillar",
    "the Mock Turtle",
    "the Gryphon",
    "the Dormouse",
    "Bill the Lizard",
    "the King of Hearts",
    "the cook",
    "the Knave of Hearts",
    "Alice's sister",
)
TEMPLATES = (
    "Who is {}?",
    "What did {} say to Alice?",
    "Why was {} angry?",
    "Where did Alice meet {}?",
    "What happened to {} in the end?",
    "What was {} doing when Alice arrived?",
)
WARM_UP = 0.2  # the soak's first fifth: caches fill, the allocator finds its size
SOAK_AT_ONCE = 2


def soak_questions(count: int) -> list[str]:
    """`count` different questions about the book; past the first pass each carries its number."""
    base = [template.format(subject) for template in TEMPLATES for subject in SUBJECTS]
    return [
        base[n % len(base)] if n < len(base) else f"{base[n % len(base)]} (question {n + 1})"
        for n in range(count)
    ]


class _MallInfo2(ctypes.Structure):
    _fields_ = [  # glibc 2.33+ struct mallinfo2
        (name, ctypes.c_size_t)
        for name in "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()
    ]


def malloc_figures() -> dict[str, int] | None:
    """glibc's malloc in this process (mallinfo2, glibc 2.33+): bytes in use by the program and bytes
    malloc holds (in use + free but kept: main arena, other arenas, mmapped blocks); None elsewhere.
    In use growing is an allocation that lives on; held growing alone is memory freed but not returned."""
    try:
        mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError):
        return None
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    return {"in_use": info.uordblks + info.hblkhd, "held": info.arena + info.hblkhd}


def slope_per_100(points: list[tuple[int, int]]) -> float | None:
    """Least-squares MB per 100 questions through (questions asked, RSS bytes)."""
    if len(points) < 2:
        return None
    xs = [float(x) for x, _ in points]
    ys = [y / 2**20 for _, y in points]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return None
    return round(100 * sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread, 1)


async def soak(askers: list[Person], memory: MemoryWatch, count: int) -> dict[str, Any]:
    """`count` questions, SOAK_AT_ONCE at a time, the askers taking turns; RSS after each answer."""
    questions = soak_questions(count)
    points: list[tuple[int, int]] = []
    in_malloc: list[tuple[int, dict[str, int] | None]] = []
    latencies: list[float] = []
    unanswered = 0
    for first in range(0, count, SOAK_AT_ONCE):
        batch = range(first, min(count, first + SOAK_AT_ONCE))

        async def one(n: int) -> float | None:
            person = askers[n % len(askers)]
            started = time.perf_counter()
            sent = await person.send(questions[n])
            answer = await person.wait_for(sent, is_answer, ANSWER_TIMEOUT)
            return (time.perf_counter() - started) * 1000 if answer is not None else None

        for ms in await asyncio.gather(*(one(n) for n in batch)):
            if ms is None:
                unanswered += 1
            else:
                latencies.append(ms)
        points.append((batch.stop, await asyncio.to_thread(memory.rss)))
        in_malloc.append((batch.stop, malloc_figures()))
    warm = max(1, int(len(points) * WARM_UP))
    after_warm_up = points[warm - 1]
    malloc_mb: dict[str, Any] = {}
    if in_malloc[-1][1] is not None:
        for key in ("in_use", "held"):
            series = [(n, figures[key]) for n, figures in in_malloc[warm - 1 :] if figures is not None]
            malloc_mb[key] = {
                "after_warm_up": round(series[0][1] / 2**20),
                "end": round(series[-1][1] / 2**20),
                "slope_per_100_questions": slope_per_100(series),
            }
    return {
        "questions": count,
        "answers": count - unanswered,
        "answer_ms": percentiles(latencies),
        "rss_mb": {
            "after_warm_up": round(after_warm_up[1] / 2**20),
            "warm_up_questions": after_warm_up[0],
            "end": round(points[-1][1] / 2**20),
            "slope_per_100_questions": slope_per_100(points[warm - 1 :]),
        },
        "malloc_mb": malloc_mb,
    }


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None}
    if len(values) == 1:
        return {"p50": round(values[0], 1), "p95": round(values[0], 1)}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": round(statistics.median(values), 1), "p95": round(cuts[94], 1)}


async def shelve(person: Person, book: Path, ready: str, words_only: str) -> None:
    """Send the book and wait until its card says it is ready, with search by meaning in."""
    sent = await person.send_file(book)

    def card(message: Message) -> bool:
        text = text_of(message)
        return ready in text and words_only not in text

    if await person.wait_for(sent, card, READY_TIMEOUT) is None:
        raise RuntimeError(f"the book did not get ready for user {person.user_id}")


async def ask(person: Person) -> float | None:
    """Milliseconds from the question to its answer; None when none came."""
    started = time.perf_counter()
    sent = await person.send(QUESTION)
    answer = await person.wait_for(sent, is_answer, ANSWER_TIMEOUT)
    return (time.perf_counter() - started) * 1000 if answer is not None else None


async def keep_starting(person: Person, until: asyncio.Event, latencies: list[float | None]) -> None:
    """/start about once a second (within the rate limit, as a person would), until told to stop;
    None for one that got no reply."""
    while not until.is_set():
        started = time.perf_counter()
        sent = await person.send("/start")
        reply = await person.wait_for(sent, lambda _message: True, START_TIMEOUT)
        latencies.append((time.perf_counter() - started) * 1000 if reply is not None else None)
        await asyncio.sleep(max(0.0, START_EVERY - (time.perf_counter() - started)))


async def run_benchmark(
    settings: Any, *, users: int, flood: int, book: Path, questions: int = 0
) -> dict[str, Any]:
    from bot.i18n import I18n
    from bot.sandbox.runner import librarity_app, start_sandbox

    i18n = I18n()
    apology = i18n.get("en", "error-unexpected")
    with tempfile.TemporaryDirectory(prefix="librarity-bench-load-") as tmp:
        run_settings = settings.model_copy(
            update={
                "data_dir": Path(tmp),
                "database_url": None,
                "redis_url": None,
                "qdrant_url": None,
                "bot_token": None,
                "webhook_url": None,
                "gemini_api_key": None,
                "openai_api_key": None,
                # a soak asks more than a free day's questions; limits are not what it measures
                **({"rate_questions": 0, "billing_free_questions_per_day": 10**6} if questions else {}),
            }
        )
        memory = MemoryWatch()
        memory.start()
        started = time.perf_counter()
        async with start_sandbox(librarity_app(run_settings)) as sandbox, aiohttp.ClientSession() as http:
            base = sandbox.base_url
            askers = [Person(http, base, FIRST_ASKER + n) for n in range(users)]
            flooder = Person(http, base, FLOODER)
            bystander = Person(http, base, BYSTANDER, poll=0.02)
            ready = i18n.get("en", "library-card-ready")
            words_only = i18n.get("en", "library-card-words-only")
            await shelve(flooder, book, ready, words_only)  # the first reads it; the rest reuse the work
            await asyncio.gather(*(shelve(person, book, ready, words_only) for person in askers))
            prepared = time.perf_counter()
            await asyncio.sleep(2.0)  # idle: the model loaded, the book in, nothing being asked
            idle = await asyncio.to_thread(memory.rss)
            prepared = time.perf_counter()
            if questions:
                soaked = await soak(askers, memory, questions)
                await memory.stop()
                return {
                    "users": users,
                    **soaked,
                    "rss_mb": {"idle": round(idle / 2**20), **soaked["rss_mb"]},
                    "seconds": {
                        "measured": round(time.perf_counter() - prepared, 1),
                        "total": round(time.perf_counter() - started, 1),
                    },
                }

            done = asyncio.Event()
            starts: list[float | None] = []
            bystanding = asyncio.create_task(keep_starting(bystander, done, starts))
            await asyncio.sleep(0.5)
            burst = asyncio.gather(*(flooder.send(f"{QUESTION} ({n})") for n in range(flood)))
            answers = await asyncio.gather(*(ask(person) for person in askers))
            await burst
            await asyncio.sleep(1.0)  # the flood's last replies
            done.set()
            await bystanding
            measured = time.perf_counter() - prepared
            chats = await asyncio.gather(*(person.messages() for person in (*askers, flooder, bystander)))
        end = await memory.stop()
    errors = sum(1 for chat in chats for message in chat if apology in text_of(message))
    received = [ms for ms in answers if ms is not None]
    return {
        "users": users,
        "flood": flood,
        "start_ms": {
            **percentiles([ms for ms in starts if ms is not None]),
            "count": len(starts),
            "unanswered": starts.count(None),
        },
        "answer_ms": percentiles(received),
        "answers": len(received),
        "error_replies": errors,
        "rss_mb": {
            "idle": round(idle / 2**20),
            "peak": round(memory.peak / 2**20),
            "end": round(end / 2**20),
        },
        "seconds": {"measured": round(measured, 1), "total": round(time.perf_counter() - started, 1)},
    }


def report(result: dict[str, Any]) -> str:
    if "questions" in result:
        rss, answer = result["rss_mb"], result["answer_ms"]
        return "\n".join(
            [
                f"{result['questions']} different questions, {SOAK_AT_ONCE} at a time, "
                f"by {result['users']} users taking turns:",
                f"- answers: {result['answers']} of {result['questions']}, p50 {answer['p50']} ms, "
                f"p95 {answer['p95']} ms",
                f"- RSS: idle {rss['idle']} MB, after warm-up ({rss['warm_up_questions']} questions) "
                f"{rss['after_warm_up']} MB, end {rss['end']} MB, "
                f"slope {rss['slope_per_100_questions']} MB per 100 questions after warm-up",
                *(
                    f"- malloc {label}: after warm-up {figures['after_warm_up']} MB, end {figures['end']} MB, "
                    f"slope {figures['slope_per_100_questions']} MB per 100 questions"
                    for label, figures in (
                        ("in use", result["malloc_mb"].get("in_use")),
                        ("held (in use + freed but kept)", result["malloc_mb"].get("held")),
                    )
                    if figures
                ),
                f"- {result['seconds']['measured']} s measured, {result['seconds']['total']} s in all",
            ]
        )
    start, answer = result["start_ms"], result["answer_ms"]
    return "\n".join(
        [
            f"{result['users']} users asking at once, one user flooding {result['flood']} messages:",
            f"- bystander /start: p50 {start['p50']} ms, p95 {start['p95']} ms ({start['count']} sent, "
            f"{start['unanswered']} unanswered)",
            f"- answers: {result['answers']} of {result['users']}, p50 {answer['p50']} ms, p95 {answer['p95']} ms",
            f"- error replies: {result['error_replies']}",
            f"- RSS: idle {result['rss_mb']['idle']} MB (the model loaded, the book in), "
            f"peak {result['rss_mb']['peak']} MB, end {result['rss_mb']['end']} MB",
            f"- {result['seconds']['measured']} s measured, {result['seconds']['total']} s in all",
        ]
    )


async def run(args: Any, settings: Any) -> int:
    """The `bench load` entry point (bot/cli/bench.py dispatches here)."""
    # The bot's and the sandbox's line per update and request: terminal output, not what is measured.
    for name in ("aiogram.event", "aiohttp.access"):
        logging.getLogger(name).setLevel(logging.WARNING)
    result = await run_benchmark(
        settings, users=args.users, flood=args.flood, book=args.book, questions=args.questions
    )
    print(json.dumps(result) if args.json else report(result))
    return 0
