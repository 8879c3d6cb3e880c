"""`librarity bench answers`: do the answers without an LLM contain the answer?

Each question is asked as the bot asks it of a book's chat with no LLM: the hybrid search of the
question's book (Qdrant Edge in a temporary folder, the chat's k = 8 and 6,000 characters of context,
packed as the chat packs them), then the extractive reply (`services.chat.offline.extractive_reply`,
with the same MiniLM model for the sentences' similarity). A question counts as answered when its gold
answer (lower-cased, punctuation as spaces) is contained in the reply of at most 600 characters.

Questions: the explicit ones (answer stated in the text) of the 13 fairytaleqa anthologies, and the
xquad questions in English and in Russian (each article its own book). Beside the reply, two references:
the top passage's first 600 characters ("top passage"), and whether the answer is anywhere in the
context the reply was chosen from ("in context": the most any choice of sentences could reach), and
whether it is anywhere in the book at all ("in book": the most any extractive reply could reach — the
fairytaleqa answers were written by people, and about a quarter of the explicit ones are not word for
word in the text).

Folds: the anthologies sorted by name and dealt round-robin into 3 folds (FOLDS). Fold 3 is held out:
the sentence ranker is trained (`--train`) and was tuned only on folds 1 and 2, and fold 3 is the figure to
report. `--failures FILE` writes the missed questions of folds 1 and 2 only (never of the held-out fold
or of xquad). Embeddings are cached on disk by text (bench-results/.cache, shared with the other
benchmarks); the cache changes no result.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.bench.retrieval import (
    DEFAULT_DATA,
    Book,
    CachedEmbedder,
    Options,
    Question,
    _normal,
    _sample,
    _shelf,
    answer_found,
    fairytale_books,
    xquad_books,
)
from services.chat.answer import fit_passages
from services.chat.offline import MAX_CHARS, extractive_reply
from services.chat.types import Citation

logger = logging.getLogger(__name__)

K = 8  # services/chat/answer.py: DEFAULT_K and CONTEXT_CHARS
CONTEXT_CHARS = 6000
FOLD_COUNT = 3
HELD_OUT = 3  # the fold never looked at while tuning


def folds(names: list[str]) -> dict[str, int]:
    """Each anthology's fold (1..FOLD_COUNT): sorted by name, dealt round-robin."""
    return {name: index % FOLD_COUNT + 1 for index, name in enumerate(sorted(names))}


@dataclass(slots=True)
class Tally:
    questions: int = 0
    answered: int = 0
    top_passage: int = 0
    in_context: int = 0
    in_book: int = 0
    reply_chars: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        n = max(self.questions, 1)
        chars = sorted(self.reply_chars)
        return {
            "questions": self.questions,
            "answered": round(self.answered / n, 4),
            "top_passage": round(self.top_passage / n, 4),
            "in_context": round(self.in_context / n, 4),
            "in_book": round(self.in_book / n, 4),
            "reply_chars_median": chars[len(chars) // 2] if chars else 0,
        }


async def _ask(
    shelf: Any,
    embedder: CachedEmbedder,
    question: Question,
    tally: Tally,
    failures: list[dict[str, Any]] | None,
    book_text: str,
) -> None:
    hits = await shelf.index.search(
        1, question.text, book_ids=[shelf.ids[question.book]], k=K, budget=CONTEXT_CHARS
    )
    context = fit_passages([Citation.from_hit(hit) for hit in hits], CONTEXT_CHARS)  # as the chat packs them
    reply = await extractive_reply(question.text, context, embedder=embedder, max_chars=MAX_CHARS)
    answered = answer_found(reply.text, question.answers)
    tally.questions += 1
    tally.answered += answered
    tally.top_passage += bool(context) and answer_found(context[0].text[:MAX_CHARS], question.answers)
    tally.in_context += answer_found(" ".join(c.text for c in context), question.answers)
    tally.in_book += any(_normal(answer) and _normal(answer) in book_text for answer in question.answers)
    tally.reply_chars.append(len(reply.text))
    if failures is not None and not answered:
        failures.append(
            {
                "book": question.book,
                "question": question.text,
                "answers": question.answers,
                "reply": reply.text,
                "in_context": answer_found(" ".join(c.text for c in context), question.answers),
            }
        )


async def run_benchmark(
    data: Path,
    sets: list[str],
    limit: int | None,
    chosen_folds: list[int],
    cache: Path | None,
    failures: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    started = time.perf_counter()
    embedder = CachedEmbedder(cache)
    await asyncio.to_thread(embedder.encode, ["warm up"])
    options = Options(data=data)
    rows: dict[str, Tally] = {}
    if "fairytale" in sets:
        anthologies = fairytale_books(data / "fairytaleqa", None)
        fold_of = folds(list(anthologies))
        for key, (book, questions) in anthologies.items():
            fold = fold_of[key]
            if fold not in chosen_folds:
                continue
            explicit = _sample([q for q in questions if q.explicit], limit)
            t0 = time.perf_counter()
            shelf = await _shelf(f"answers-{key}", {key: book}, embedder, options)
            await asyncio.to_thread(embedder.encode, [q.text for q in explicit])
            tally = rows.setdefault(f"fairytale fold {fold}", Tally())
            whole = rows.setdefault("fairytale all folds", Tally())
            per_book = Tally()
            keep = failures if failures is not None and fold != HELD_OUT else None
            book_text = _normal(book.text)
            for question in explicit:
                await _ask(shelf, embedder, question, per_book, keep, book_text)
            await shelf.close()
            for target in (tally, whole):
                target.questions += per_book.questions
                target.answered += per_book.answered
                target.top_passage += per_book.top_passage
                target.in_context += per_book.in_context
                target.in_book += per_book.in_book
                target.reply_chars += per_book.reply_chars
            logger.info(
                "%s (fold %d): %d/%d answered, %.1fs",
                key, fold, per_book.answered, per_book.questions, time.perf_counter() - t0,
            )  # fmt: skip
    if "xquad" in sets:
        for language in ("en", "ru"):
            books: dict[str, Book]
            books, questions = xquad_books(data / "xquad", language)
            questions = _sample(questions, limit * 4 if limit else None)
            shelf = await _shelf(f"answers-xquad-{language}", books, embedder, options)
            await asyncio.to_thread(embedder.encode, [q.text for q in questions])
            tally = rows.setdefault(f"xquad {language}", Tally())
            texts = {key: _normal(book.text) for key, book in books.items()}
            for question in questions:
                await _ask(shelf, embedder, question, tally, None, texts[question.book])
            await shelf.close()
    embedder.save()
    order = [f"fairytale fold {HELD_OUT} (held out)"]
    result_rows = []
    for name, tally in rows.items():
        label = f"{name} (held out)" if name == f"fairytale fold {HELD_OUT}" else name
        result_rows.append({"run": label, **tally.as_dict()})
    result_rows.sort(
        key=lambda row: (row["run"] not in order, not row["run"].startswith("fairytale fold"), row["run"])
    )
    return {
        "benchmark": "answers",
        "k": K,
        "context_chars": CONTEXT_CHARS,
        "reply_chars": MAX_CHARS,
        "limit": limit,
        "folds": folds(list(fairytale_books(data / "fairytaleqa", None))) if "fairytale" in sets else {},
        "seconds": round(time.perf_counter() - started, 1),
        "embedded_texts": embedder.computed,
        "rows": result_rows,
    }


def markdown_table(result: dict[str, Any]) -> str:
    lines = [
        "| run | questions | answer in reply (<= 600 chars) | top passage[:600] | answer in context | in book |",
        "|---|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['run']} | {row['questions']} | {row['answered']:.2f} | {row['top_passage']:.2f} | "
            f"{row['in_context']:.2f} | {row['in_book']:.2f} |"
        )
    return "\n".join(lines)


def add_arguments(parser: Any) -> None:
    parser.add_argument("--data", type=Path, default=None, help="the qa folder (default ../shared/data/qa)")
    parser.add_argument("--sets", default="fairytale,xquad", help="fairytale,xquad")
    parser.add_argument(
        "--limit",
        type=int,
        default=60,
        help="explicit questions per anthology (xquad: 4x this per language); 0 for all",
    )
    parser.add_argument("--folds", default="1,2,3", help=f"which fairytale folds (1..{FOLD_COUNT}) to ask")
    parser.add_argument(
        "--failures", type=Path, default=None, help="write the missed questions of the tuning folds (JSONL)"
    )
    parser.add_argument(
        "--train",
        action="store_true",
        help="train the sentence ranker on the tuning folds (all their explicit questions) and save it",
    )
    parser.add_argument("--no-cache", action="store_true", help="embed everything again")
    parser.add_argument("--out", type=Path, default=Path("bench-results"))


async def run(args: Any, settings: Any) -> int:
    """The `bench answers` entry point (bot/cli/bench.py dispatches here)."""
    data = args.data or DEFAULT_DATA
    if args.train:
        from bot.bench import answer_ranker

        tuning = [fold for fold in range(1, FOLD_COUNT + 1) if fold != HELD_OUT]
        fold_of = folds(list(fairytale_books(data / "fairytaleqa", None)))
        return await answer_ranker.run(args, data, tuning, fold_of, K, CONTEXT_CHARS)
    failures: list[dict[str, Any]] | None = [] if args.failures else None
    result = await run_benchmark(
        data,
        [s.strip() for s in args.sets.split(",") if s.strip()],
        args.limit or None,
        [int(f) for f in args.folds.split(",") if f.strip()],
        None if args.no_cache else args.out / ".cache" / "embeddings-minilm.npz",
        failures,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"answers-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    if failures is not None:
        args.failures.write_text(
            "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in failures), encoding="utf-8"
        )
    print(markdown_table(result))
    print(f"\n{result['seconds']}s; {result['embedded_texts']} texts embedded; results in {path}")
    return 0
