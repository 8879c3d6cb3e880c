"""Answers without an LLM: the sentences of the retrieved passages that best answer the question.

Sentences are exact slices of the passages (so they quote verbatim) and keep the passage's place.
A sentence scores by the question's stems it contains, weighted by how rare each stem is among the
candidate sentences (a name on every line says little), plus, when vectors are given, its dense
similarity to the question, plus a little for the passage's rank. The sentence right after the best
one is often where the answer is ("Who came? ... It was the troll."), so it is taken next when it fits.
Stage directions ("Enter Macbeth.") and fragments of a word or two — a speaker's name in a play
("Macb."), a heading, "Witches vanish." — are not quoted, except a fragment that answers a question
the book asks just before it ("Who came? The troll."), taken with that question.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from services.search import lexical
from services.search.embeddings import Embedder
from services.search.sentences import text_sentence_spans

DENSE_WEIGHT = 0.5
RANK_WEIGHT = 0.15
FOLLOWING_SHARE = 0.5  # the next sentence joins when it scores at least this share of the best
FRAGMENT_WORDS = 3  # a sentence of fewer words is a fragment
_WORD = re.compile(r"[^\W_]+")
_STAGE_DIRECTION = re.compile(
    r"^(?:[\[(].*[\])]\W*|(?:enter|re-enter|exit|exeunt|manet|flourish|alarums?|sennet|hautboys|"
    r"входит|входят|уходит|уходят)\b.*)$",
    re.IGNORECASE | re.DOTALL,
)


class PassageLike(Protocol):
    @property
    def text(self) -> str: ...
    @property
    def page(self) -> int | None: ...
    @property
    def chapter(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class ExtractiveSentence:
    text: str
    passage: int  # index into the passages given
    start: int  # offsets of the sentence in the passage text
    end: int
    page: int | None
    chapter: str | None
    book_id: int | None
    seq: int | None
    score: float


@dataclass(frozen=True, slots=True)
class ExtractiveAnswer:
    sentences: list[ExtractiveSentence]  # in reading order (passage rank, then position)

    @property
    def text(self) -> str:
        return " ".join(sentence.text for sentence in self.sentences)


@dataclass(frozen=True, slots=True)
class _Candidate:
    passage: int
    start: int
    end: int
    stems: frozenset[str]


def candidate_sentences(passages: Sequence[PassageLike]) -> list[tuple[int, int, int]]:
    """(passage index, start, end) of every sentence of the passages, in order."""
    found: list[tuple[int, int, int]] = []
    for index, passage in enumerate(passages):
        found.extend((index, start, end) for start, end in text_sentence_spans(passage.text))
    return found


def extractive_answer(
    question: str,
    hits: Sequence[PassageLike],
    max_chars: int = 600,
    *,
    query_vector: np.ndarray | None = None,
    sentence_vectors: np.ndarray | None = None,
) -> ExtractiveAnswer:
    """The best sentences (verbatim, with places) up to max_chars; vectors, when given, are the
    question's and those of `candidate_sentences(hits)` in order."""
    spans = candidate_sentences(hits)
    if not spans:
        return ExtractiveAnswer([])
    wanted = set(lexical.stems(question))
    candidates = [_Candidate(p, s, e, frozenset(lexical.stems(hits[p].text[s:e]))) for p, s, e in spans]
    scores = _lexical_scores(wanted, candidates)
    if query_vector is not None and sentence_vectors is not None and len(sentence_vectors) == len(candidates):
        scores = scores + DENSE_WEIGHT * (sentence_vectors @ query_vector)
    ranks = np.array([c.passage for c in candidates], dtype=np.float32)
    scores = scores + RANK_WEIGHT / (1.0 + ranks)
    quotable, answers = _quotable(hits, candidates)
    if quotable.any():  # else the passages are all fragments: the best of them, as before
        scores = np.where(quotable, scores, -np.inf).astype(np.float32)

    chosen: dict[int, float] = {}
    total = 0
    order = np.argsort(-scores, kind="stable")
    best = float(scores[order[0]])
    for index in order:
        if scores[index] == -np.inf:
            break
        for pick in _with_following(int(index), candidates, scores, best, quotable | answers):
            if pick in chosen:
                continue
            size = candidates[pick].end - candidates[pick].start + (1 if chosen else 0)
            if total + size > max_chars:
                continue
            chosen[pick] = float(scores[pick])
            total += size
        if total >= max_chars * 0.9:
            break
    if not chosen:  # one sentence longer than the budget: its beginning
        chosen[int(order[0])] = best
    return ExtractiveAnswer(
        [_sentence(hits, candidates[i], score, max_chars) for i, score in sorted(chosen.items())]
    )


async def extractive_answer_dense(
    question: str, hits: Sequence[PassageLike], embedder: Embedder, max_chars: int = 600
) -> ExtractiveAnswer:
    """`extractive_answer` with dense similarity of each sentence (embedded off the event loop)."""
    spans = candidate_sentences(hits)
    if not spans:
        return ExtractiveAnswer([])
    query = await embedder.embed_query(question)
    vectors = await embedder.embed_documents([hits[p].text[s:e] for p, s, e in spans])
    return extractive_answer(question, hits, max_chars, query_vector=query, sentence_vectors=vectors)


def _lexical_scores(wanted: set[str], candidates: Sequence[_Candidate]) -> np.ndarray:
    if not wanted:
        return np.zeros(len(candidates), dtype=np.float32)
    frequency = Counter(stem for c in candidates for stem in c.stems & wanted)
    count = len(candidates)
    weight = {stem: math.log(1.0 + count / (1.0 + frequency[stem])) for stem in wanted}
    whole = sum(weight.values())
    return np.array([sum(weight[s] for s in c.stems & wanted) / whole for c in candidates], dtype=np.float32)


def _quotable(hits: Sequence[PassageLike], candidates: Sequence[_Candidate]) -> tuple[np.ndarray, np.ndarray]:
    """Which sentences may be quoted on their own (whole sentences, not stage directions), and which
    fragments may follow the sentence before them: the answer to a question the book asks there —
    unless the fragment is a speaker's name ("Macb. So foule..." has more on its line; "MACBETH.")."""
    quotable = np.zeros(len(candidates), dtype=bool)
    answers = np.zeros(len(candidates), dtype=bool)
    for index, candidate in enumerate(candidates):
        text = hits[candidate.passage].text
        sentence = text[candidate.start : candidate.end]
        if _STAGE_DIRECTION.match(sentence):
            continue
        if len(_WORD.findall(sentence)) >= FRAGMENT_WORDS:
            quotable[index] = True
            continue
        before = candidates[index - 1] if index else None
        line_end = text.find("\n", candidate.end)
        rest_of_line = text[candidate.end : len(text) if line_end == -1 else line_end].strip()
        answers[index] = (
            before is not None
            and before.passage == candidate.passage
            and text[before.start : before.end].rstrip("\"'»”’ ").endswith("?")
            and not rest_of_line
            and sentence.upper() != sentence
        )
    return quotable, answers


def _with_following(
    index: int, candidates: Sequence[_Candidate], scores: np.ndarray, best: float, usable: np.ndarray
) -> list[int]:
    following = index + 1
    if (
        following < len(candidates)
        and candidates[following].passage == candidates[index].passage
        and scores[index] >= best * FOLLOWING_SHARE
        and usable[following]
    ):
        return [index, following]
    return [index]


def _sentence(
    hits: Sequence[PassageLike], candidate: _Candidate, score: float, max_chars: int
) -> ExtractiveSentence:
    hit = hits[candidate.passage]
    end = candidate.end
    if end - candidate.start > max_chars:
        cut = hit.text.rfind(" ", candidate.start, candidate.start + max_chars)
        end = cut if cut > candidate.start else candidate.start + max_chars
    return ExtractiveSentence(
        text=hit.text[candidate.start : end],
        passage=candidate.passage,
        start=candidate.start,
        end=end,
        page=hit.page,
        chapter=hit.chapter,
        book_id=getattr(hit, "book_id", None),
        seq=getattr(hit, "seq", getattr(hit, "chunk_id", None)),
        score=score,
    )
