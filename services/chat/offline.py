"""Answers without an LLM: the sentences of the retrieved passages that answer the question, verbatim.

The search engine's `services.search.extractive.extractive_answer` does the picking when it is there;
until then (and if it fails) a local picker ranks sentences by the share of the question's stems they
contain, nudged by the rank of their passage. Either way every sentence is an exact slice of a
passage and is shown with the passage's place.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from services.chat.types import Citation
from services.search import lexical
from services.search.sentences import paragraph_spans, sentence_spans

logger = logging.getLogger(__name__)

MAX_CHARS = 600
MAX_SENTENCES = 4


@dataclass(frozen=True, slots=True)
class ExtractivePick:
    sentence: str
    passage: int  # index into the passages given


@dataclass(frozen=True, slots=True)
class ExtractiveReply:
    """`text` is plain (not Markdown): one `«sentence» [n]` per line, [n] naming `citations[n-1]`."""

    text: str
    citations: list[Citation]
    picks: list[ExtractivePick]


def sentences_of(text: str) -> list[str]:
    return [text[s:e] for ps, pe in paragraph_spans(text) for s, e in sentence_spans(text, ps, pe)]


def pick_sentences(
    question: str,
    passages: Sequence[Citation],
    *,
    max_chars: int = MAX_CHARS,
    max_sentences: int = MAX_SENTENCES,
) -> list[ExtractivePick]:
    """The best sentences, in reading order within the chosen passages, up to `max_chars` in total."""
    wanted = lexical.stems(question)
    scored: list[tuple[float, int, int, str]] = []
    for rank, passage in enumerate(passages):
        for position, sentence in enumerate(sentences_of(passage.text)):
            overlap = lexical.overlap_score(wanted, lexical.stems(sentence))
            # Earlier passages are likelier to be right; ties go to the better-ranked passage.
            scored.append((overlap + 0.15 / (1 + rank), rank, position, sentence))
    scored.sort(key=lambda item: -item[0])
    chosen: list[tuple[int, int, str]] = []
    total = 0
    for score, rank, position, sentence in scored:
        if len(chosen) >= max_sentences:
            break
        if chosen and (score < 0.2 or total + len(sentence) > max_chars):
            continue
        if not chosen and len(sentence) > max_chars:
            sentence = _clip_words(sentence, max_chars)
        chosen.append((rank, position, sentence))
        total += len(sentence)
    chosen.sort()
    return [ExtractivePick(sentence, rank) for rank, _position, sentence in chosen]


def extractive_reply(
    question: str, passages: Sequence[Citation], *, max_chars: int = MAX_CHARS
) -> ExtractiveReply:
    if not passages:
        return ExtractiveReply("", [], [])
    picks = _search_engine_picks(question, passages, max_chars) or pick_sentences(
        question, passages, max_chars=max_chars
    )
    order: list[int] = []
    lines: list[str] = []
    for pick in picks:
        if pick.passage not in order:
            order.append(pick.passage)
        lines.append(f"«{pick.sentence}» [{order.index(pick.passage) + 1}]")
    return ExtractiveReply("\n".join(lines), [passages[i] for i in order], picks)


def _search_engine_picks(
    question: str, passages: Sequence[Citation], max_chars: int
) -> list[ExtractivePick] | None:
    """The search engine's extractive picker, when it is installed; None to use the local one."""
    try:
        from services.search.extractive import extractive_answer  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        reply = extractive_answer(question, list(passages), max_chars=max_chars)
    except Exception:
        logger.exception("the search engine's extractive answer failed; using the local picker")
        return None
    return _picks_from(reply, passages)


def _picks_from(reply: object, passages: Sequence[Citation]) -> list[ExtractivePick] | None:
    """Sentences of the search engine's reply, each traced back to the passage it comes from."""
    sentences = getattr(reply, "sentences", None)
    if not sentences:
        return None
    picks: list[ExtractivePick] = []
    for item in sentences:
        text = getattr(item, "text", item if isinstance(item, str) else None)
        if not isinstance(text, str) or not text.strip():
            continue
        index = next((i for i, p in enumerate(passages) if text in p.text), None)
        if index is None:
            return None  # not verbatim: do not show it as a quote
        picks.append(ExtractivePick(text, index))
    return picks or None


def _clip_words(text: str, limit: int) -> str:
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut if cut else text[:limit]
