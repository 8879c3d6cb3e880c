"""Answers without an LLM: the sentences of the retrieved passages that best answer the question.

Sentences are exact slices of the passages (so they quote verbatim) and keep the passage's place.
The reply starts with the best sentence and the sentences right after it in its passage (the
answer is often just after the line that repeats the question's words: "Why did you throw the ball?"
... "He is a favourite of Fortune"), then the run of neighbouring sentences of one passage (up to
WINDOW of the reply) where the question's words gather most — the answer is often in the lines
around them ("Where did Goody Tiptoes hide the nuts?" ... "She hid them under a tree root").
The rest of the reply is the next best sentences, each with the sentences
right after it in its passage. A sentence scores by how well it matches the question — the
question's stems it contains, weighted by how rare each stem is among the candidate sentences (a name
on every line says little), plus, when vectors are given, its dense similarity to the question — and:
- the question's kind (who, why, when, where, how many) asks for something a sentence can be seen to
  carry: a name not in the question for "who", "because"/"so that" for "why", a time for "when", a
  place for "where", a number for "how many"; a matching sentence that carries it gains;
- a sentence that is itself a question rarely answers, and passages count in rank order.
Stage directions ("Enter Macbeth.", "[Exit.]"), headings ("### The Tale", "CHAPTER XI") and fragments
of a word or two — a speaker's name in a play ("Macb.", "MACBETH."), "Witches vanish." — are not quoted,
except a fragment that answers a question the book asks just before it ("Who came? The troll."), taken
with that question.
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
KIND_WEIGHT = 0.2  # a sentence that carries what the question's kind asks for (near a match)
QUESTION_PENALTY = 0.2  # a sentence that is itself a question
NEIGHBOURS = (1, 2)  # sentences after a chosen one taken with it (same passage, while they fit)
NEIGHBOUR_SHARE = 0.5  # ... when the chosen one scores at least this share of the best
WINDOW = 0.4  # the best run of neighbouring sentences, up to this share of the reply
WINDOW_BEST = 0.5  # ... judged by the question's words it gathers and by its best sentence's score
WINDOW_RANK = 0.05  # ... less this for each passage rank
FRAGMENT_WORDS = 3  # a sentence of fewer words is a fragment
_WORD = re.compile(r"[^\W_]+")
_STAGE_DIRECTION = re.compile(
    r"^(?:[\[(].*[\])]\W*|(?:enter|re-enter|exit|exeunt|manet|flourish|alarums?|sennet|hautboys|"
    r"входит|входят|уходит|уходят)\b.*)$",
    re.IGNORECASE | re.DOTALL,
)
# A line that is only a speaker's name: "Macb.", "Lady.", "FIRST WITCH.", "Lady Macbeth."
_SPEAKER_LINE = re.compile(r"^[A-ZА-ЯЁ][\w'’]*(?: [A-ZА-ЯЁ][\w'’]*)?\.$")
_HEADING = re.compile(
    r"^(?:#+\s|(?:chapter|book|part|act|scene|глава|часть|действие|явление)\s+[\dIVXLC]+\b)", re.I
)

# The question's kind, by its first question word (English and Russian).
_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        ("count", r"\bhow (?:many|much|old|far)\b|\bсколько\b"),
        (
            "when",
            r"\bwhen\b|\bhow long\b|\bwhat (?:year|time|day|month|century)\b|\bкогда\b|"
            r"\bв как(?:ом|ое|ой) (?:году|веке|время|день|месяце)\b",
        ),
        ("who", r"\bwho(?:m|se)?\b|\bкт[оа]\b|\bкого\b|\bкому\b|\bкем\b|\bчь(?:я|е|ё|и|его|ей|их)\b|\bчей\b"),
        ("why", r"\bwhy\b|\bfor what reason\b|\bпочему\b|\bзачем\b|\bотчего\b"),
        ("where", r"\bwhere\b|\bгде\b|\bкуда\b|\bоткуда\b"),
        ("other", r"\b(?:what|which|how)\b|\bчто\b|\bчем\b|\bкак"),
    )
)
_NUMBER = (
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundred|thousand|million|dozen|один|одна|два|две|три|четыре|пять|шесть|семь|восемь|девять|десять|"
    r"сто|тысяч\w*|миллион\w*)\b"
)
_CUES: dict[str, re.Pattern[str]] = {
    kind: re.compile(pattern, re.IGNORECASE)
    for kind, pattern in {
        "count": _NUMBER,
        "when": r"\d|\b(?:morning|evening|night|noon|midnight|dawn|day|days|week|weeks|month|months|year|years|"
        r"winter|summer|spring|autumn|century|o'clock|after|before|until|till|since|ago|утр\w*|вечер\w*|ноч\w*|"
        r"дн[яеи]\w*|день|недел\w*|месяц\w*|год\w*|лет|зим\w*|лет\w*|весн\w*|осен\w*|век\w*|после|до|пока|"
        r"january|february|march|april|may|june|july|august|september|october|november|december)\b",
        "why": r"\b(?:because|since|so that|in order|for fear|therefore|reason|wanted|wished|hoped|that he might|"
        r"that she might|потому|так как|чтобы|из-за|поэтому|оттого|ибо|ради|хотел\w*)\b",
        "where": r"\b(?:in|at|into|under|behind|near|beside|inside|beneath|across|through|to|from|"
        r"в|во|на|у|под|за|около|возле|внутри|из)\s+(?:the|a|an|his|her|their|its|\w+)\b",
    }.items()
}
_NAME = re.compile(r"(?<=[\s,;:(«\"'“‘—-])([A-ZА-ЯЁ][a-zа-яё]+)")


def question_kind(question: str) -> str:
    """who, why, when, where, count (how many/much) or other — by the question's first question word."""
    first: tuple[int, str] | None = None
    for kind, pattern in _KINDS:
        match = pattern.search(question)
        if match and (first is None or match.start() < first[0]):
            first = (match.start(), kind)
    return first[1] if first else "other"


def carries_kind(kind: str, sentence: str, question: str) -> bool:
    """Whether the sentence carries what a question of this kind asks for: a name not in the question
    for "who", a reason for "why", a time for "when", a place for "where", a number for "how many"."""
    if kind == "who":
        asked = {word.lower() for word in _WORD.findall(question)}
        return any(name.lower() not in asked for name in _NAME.findall(sentence))
    cue = _CUES.get(kind)
    return bool(cue and cue.search(sentence))


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
    """(passage index, start, end) of every sentence of the passages, in order; a play's line that
    runs on into the next speaker's name ("Though our Liues-\n  Macb.") loses the name."""
    found: list[tuple[int, int, int]] = []
    for index, passage in enumerate(passages):
        for start, end in text_sentence_spans(passage.text):
            start, end = _without_tag_lines(passage.text, start, end)
            if end > start:
                found.append((index, start, end))
    return found


def _without_tag_lines(text: str, start: int, end: int) -> tuple[int, int]:
    """The span less its first and last lines while they are a stage direction, or its last line while
    it is the name of a speaker whose words go on after it (the sentence keeps at least one line)."""
    while True:
        last = text.rfind("\n", start, end)
        if last == -1:
            return start, end
        line = text[last + 1 : end].strip()
        line_end = text.find("\n", end)
        speaks_on = bool(text[end : len(text) if line_end == -1 else line_end].strip())
        if not ((_SPEAKER_LINE.match(line) and speaks_on) or _STAGE_DIRECTION.match(line)):
            break
        end = len(text[start:last].rstrip()) + start
    while True:
        first = text.find("\n", start, end)
        if first == -1:
            return start, end
        line = text[start:first].strip()
        if not (_SPEAKER_LINE.match(line) or _STAGE_DIRECTION.match(line)):
            return start, end
        start = first + 1 + len(text[first + 1 : end]) - len(text[first + 1 : end].lstrip())


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
    texts = [hits[c.passage].text[c.start : c.end] for c in candidates]
    match = _lexical_scores(wanted, candidates)
    if query_vector is not None and sentence_vectors is not None and len(sentence_vectors) == len(candidates):
        match = match + DENSE_WEIGHT * (sentence_vectors @ query_vector)
    kind = question_kind(question)
    carries = np.array([carries_kind(kind, text, question) for text in texts], dtype=bool)
    asks = np.array([text.rstrip("\"'»”’) ").endswith("?") for text in texts], dtype=bool)
    scores = match + KIND_WEIGHT * carries * np.clip(match, 0.0, None) - QUESTION_PENALTY * asks
    ranks = np.array([c.passage for c in candidates], dtype=np.float32)
    scores = (scores + RANK_WEIGHT / (1.0 + ranks)).astype(np.float32)
    quotable, answers = _quotable(hits, candidates)
    if quotable.any():  # else the passages are all fragments: the best of them, as before
        scores = np.where(quotable, scores, -np.inf).astype(np.float32)

    chosen: dict[int, float] = {}
    usable = quotable | answers
    order = np.argsort(-scores, kind="stable")
    best = float(scores[order[0]])
    window = _best_window(wanted, candidates, scores, usable, max_chars)
    total = 0
    for step, index in enumerate(order):
        if scores[index] == -np.inf:
            break
        picks = _with_neighbours(int(index), candidates, scores, best, usable)
        if step == 0:  # the best sentence and the sentences after it, then the run of sentences
            picks = [*picks, *window]
        for pick in picks:
            if pick in chosen:
                continue
            size = candidates[pick].end - candidates[pick].start + (1 if chosen else 0)
            if total + size > max_chars:
                if pick == index:
                    break  # not its neighbours without it
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
        if _STAGE_DIRECTION.match(sentence) or _HEADING.match(sentence) or _shouted(sentence):
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


def _best_window(
    wanted: set[str], candidates: Sequence[_Candidate], scores: np.ndarray, usable: np.ndarray, max_chars: int
) -> list[int]:
    """The run of neighbouring sentences of one passage, within max_chars * WINDOW, where the question's
    words gather most (each stem counted once, by its weight) and the sentences score best."""
    if not wanted:
        return []
    frequency = Counter(stem for c in candidates for stem in c.stems & wanted)
    weight = {stem: math.log(1.0 + len(candidates) / (1.0 + frequency[stem])) for stem in wanted}
    whole = sum(weight.values()) or 1.0
    budget = max_chars * WINDOW
    best: tuple[float, list[int]] = (-np.inf, [])
    for first in range(len(candidates)):
        if not usable[first]:
            continue
        covered: set[str] = set()
        size, run = 0, []
        for index in range(first, len(candidates)):
            if candidates[index].passage != candidates[first].passage:
                break
            size += candidates[index].end - candidates[index].start + 1
            if size > budget:
                break
            if not usable[index]:
                continue
            run.append(index)
            covered |= candidates[index].stems & wanted
            value = sum(weight[s] for s in covered) / whole + WINDOW_BEST * max(scores[i] for i in run)
            value -= WINDOW_RANK * candidates[first].passage
            if value > best[0] or (value == best[0] and run[0] == best[1][0]):
                best = (value, list(run))
    return best[1]


def _shouted(sentence: str) -> bool:
    """A line in capitals (a speaker's name, a heading): "FIRST WITCH.", "CHAPTER XI"."""
    letters = [char for char in sentence if char.isalpha()]
    return bool(letters) and all(char.isupper() for char in letters) and len(_WORD.findall(sentence)) <= 8


def _with_neighbours(
    index: int, candidates: Sequence[_Candidate], scores: np.ndarray, best: float, usable: np.ndarray
) -> list[int]:
    """The sentence, then its neighbours in its passage (NEIGHBOURS: after it first), when it is among
    the best: the answer is most often in the sentence that matches, else just after or before it."""
    picks = [index]
    if scores[index] < best * NEIGHBOUR_SHARE:
        return picks
    for step in NEIGHBOURS:
        near = index + step
        if (
            0 <= near < len(candidates)
            and candidates[near].passage == candidates[index].passage
            and usable[near]
        ):
            picks.append(near)
    return picks


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
