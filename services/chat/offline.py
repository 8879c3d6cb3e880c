"""Answers without an LLM: the sentences of the retrieved passages that answer the question, verbatim.

The picking is the search engine's (`services.search.extractive`); this module turns its sentences
into the chat's answer: one quote a line (sentences that follow one another in a paragraph are one
quote), laid out for reading (a book's hard line breaks joined), each with the number of the passage
(and so the place) it comes from. The citations keep the passages exactly as stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.chat.types import Citation
from services.search.embeddings import Embedder
from services.search.extractive import ExtractiveAnswer, extractive_answer, extractive_answer_dense
from services.search.sentences import reflow

MAX_CHARS = 600


@dataclass(frozen=True, slots=True)
class ExtractiveReply:
    """`text` is plain (not Markdown): one `«quote» [n]` a line, [n] naming `citations[n-1]`."""

    text: str
    citations: list[Citation]


async def extractive_reply(
    question: str,
    passages: Sequence[Citation],
    *,
    embedder: Embedder | None = None,
    max_chars: int = MAX_CHARS,
) -> ExtractiveReply:
    if not passages:
        return ExtractiveReply("", [])
    picked: ExtractiveAnswer
    if embedder is not None:
        picked = await extractive_answer_dense(question, passages, embedder, max_chars)
    else:
        picked = extractive_answer(question, passages, max_chars)
    order: list[int] = []
    lines: list[str] = []
    for passage, start, end in _runs(picked, passages):
        if passage not in order:
            order.append(passage)
        shown = reflow(passages[passage].text, start, end)
        lines.append(f"«{shown}» [{order.index(passage) + 1}]")
    return ExtractiveReply("\n".join(lines), [passages[i] for i in order])


def _runs(picked: ExtractiveAnswer, passages: Sequence[Citation]) -> list[tuple[int, int, int]]:
    """(passage, start, end) of each quote: sentences that follow one another in a paragraph of the same
    passage are one quote, as the book has them (an answer that runs over two sentences reads whole)."""
    runs: list[tuple[int, int, int]] = []
    for sentence in picked.sentences:
        if runs and runs[-1][0] == sentence.passage and runs[-1][2] <= sentence.start:
            passage, start, end = runs[-1]
            gap = passages[passage].text[end : sentence.start]
            if not gap.strip() and "\n\n" not in gap:
                runs[-1] = (passage, start, sentence.end)
                continue
        runs.append((sentence.passage, sentence.start, sentence.end))
    return runs
