"""Answers without an LLM: the sentences of the retrieved passages that most likely hold the answer.

Sentences are exact slices of the passages (so they quote verbatim) and keep the passage's place. Each
candidate sentence is described by FEATURES: how it matches the question by its rare words (a name on
every line says little) and, when vectors are given, by meaning; how its neighbours match (the answer is
often just after the line that repeats the question's words: "Where is the treasure stored?" ... "The
treasure is in a cave"); whether it carries what the question's kind asks for (a name not in the question
for "who", "because" for "why", a time for "when", a place for "where", a number for "how many"); whether
it is itself a question, dialogue, a fragment; and where it stands (passage rank, place in the passage).
A small network (`SentenceRanker`, trained by `librarity bench answers --train` on the tuning folds of the
fairytaleqa anthologies, weights in answer_ranker.json) scores them, and the reply is the best ones that
fit, in reading order.

Stage directions ("Enter Macbeth.", "[Exit.]"), headings ("### The Tale", "CHAPTER XI") and fragments
of a word or two — a speaker's name in a play ("Macb.", "MACBETH."), "Witches vanish." — are not quoted,
except a fragment that answers a question the book asks just before it ("Who came? The troll.").
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from services.search import lexical
from services.search.embeddings import Embedder
from services.search.sentences import text_sentence_spans

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


# What the sentence ranker (`SentenceRanker`) is given about each candidate sentence, in this order.
FEATURES: tuple[str, ...] = (
    "lexical", "lexical_share", "lexical_rank", "dense", "dense_gap", "dense_rank",
    "prev_lexical", "prev_dense", "prev2_lexical", "next_lexical", "next_dense", "window_lexical",
    "prev_share", "next_share", "after_best", "before_best", "names_share", "others_share", "new_words",
    "passage_rank", "first_passage", "position", "first_in_passage", "last_in_passage",
    "asks", "prev_asks", "quoted", "words", "fragment", "carries", "name_new", "number", "time", "reason", "place",
    "pronoun_start", "speech_tag",
    *(f"kind_{kind}" for kind, _ in _KINDS),
)  # fmt: skip
DENSE_FEATURES = ("dense", "dense_gap", "dense_rank", "prev_dense", "next_dense")
_PRONOUN_START = re.compile(
    r"^\W*(?:he|she|they|it|him|her|them|his|their|its|он|она|они|оно|его|её|ее|их)\b", re.I
)
_SPEECH_TAG = re.compile(
    r"\b(?:said|says|cried|asked|answered|replied|сказал\w*|спросил\w*|ответил\w*)\b", re.I
)


RANKER_PATH = Path(__file__).with_name("answer_ranker.json")


class SentenceRanker:
    """How likely each candidate sentence holds the answer: a small network over its FEATURES, trained
    by `librarity bench answers --train` on the tuning folds of the fairytaleqa anthologies."""

    def __init__(self, weights: dict[str, Any]) -> None:
        if list(weights["features"]) != list(FEATURES):
            raise ValueError("the ranker was trained on other features; train it again")
        self.mean = np.asarray(weights["mean"], dtype=np.float32)
        self.scale = np.asarray(weights["scale"], dtype=np.float32)
        self.hidden_weight = np.asarray(weights["hidden_weight"], dtype=np.float32)
        self.hidden_bias = np.asarray(weights["hidden_bias"], dtype=np.float32)
        self.out_weight = np.asarray(weights["out_weight"], dtype=np.float32)
        self.out_bias = float(weights["out_bias"])

    @classmethod
    @functools.cache
    def shipped(cls) -> SentenceRanker:
        return cls(json.loads(RANKER_PATH.read_text(encoding="utf-8")))

    def score(self, features: np.ndarray) -> np.ndarray:
        hidden = np.tanh(((features - self.mean) / self.scale) @ self.hidden_weight.T + self.hidden_bias)
        return (hidden @ self.out_weight + self.out_bias).astype(np.float32)


def choose_sentences(
    scores: np.ndarray, usable: np.ndarray, lengths: np.ndarray, max_chars: int
) -> list[int]:
    """The best-scoring usable sentences that fit in max_chars (a space between two), in reading order."""
    chosen: list[int] = []
    total = 0
    for index in np.argsort(-np.where(usable, scores, -np.inf), kind="stable"):
        if not usable[index]:
            break
        size = int(lengths[index]) + (1 if chosen else 0)
        if total + size > max_chars:
            continue
        chosen.append(int(index))
        total += size
        if total >= max_chars * 0.9:
            break
    return sorted(chosen)


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
    """The sentences most likely to hold the answer (verbatim, with places), up to max_chars, in reading
    order; vectors, when given, are the question's and those of `candidate_sentences(hits)` in order."""
    spans, features, usable = candidate_table(question, hits, query_vector, sentence_vectors)
    if not spans:
        return ExtractiveAnswer([])
    scores = SentenceRanker.shipped().score(features)
    lengths = np.array([e - s for _, s, e in spans])
    chosen = choose_sentences(scores, usable, lengths, max_chars)
    if not chosen:  # one sentence longer than the budget: its beginning
        chosen = [int(np.argmax(np.where(usable, scores, -np.inf)))]
    return ExtractiveAnswer([_sentence(hits, spans[i], float(scores[i]), max_chars) for i in chosen])


def candidate_table(
    question: str,
    hits: Sequence[PassageLike],
    query_vector: np.ndarray | None = None,
    sentence_vectors: np.ndarray | None = None,
) -> tuple[list[tuple[int, int, int]], np.ndarray, np.ndarray]:
    """The candidate sentences (passage, start, end), their FEATURES, and which may be quoted: whole
    sentences, and fragments that answer a question the book asks just before them (all of them, when
    the passages are nothing but fragments)."""
    spans = candidate_sentences(hits)
    candidates, texts = _candidates(hits, spans)
    match = _lexical_scores(set(lexical.stems(question)), candidates)
    dense = None
    if query_vector is not None and sentence_vectors is not None and len(sentence_vectors) == len(spans):
        dense = sentence_vectors @ query_vector
    quotable, answers = _quotable(hits, candidates)
    usable = quotable | answers if quotable.any() else np.ones(len(spans), dtype=bool)
    return spans, sentence_features(question, candidates, texts, match, dense), usable


def _candidates(
    hits: Sequence[PassageLike], spans: Sequence[tuple[int, int, int]]
) -> tuple[list[_Candidate], list[str]]:
    texts = [hits[p].text[s:e] for p, s, e in spans]
    stems = [frozenset(lexical.stems(text)) for text in texts]
    return [_Candidate(p, s, e, stem) for (p, s, e), stem in zip(spans, stems, strict=True)], texts


async def extractive_answer_dense(
    question: str, hits: Sequence[PassageLike], embedder: Embedder, max_chars: int = 600
) -> ExtractiveAnswer:
    """`extractive_answer` with dense similarity of each sentence (embedded off the event loop) — for
    English questions: the model (all-MiniLM-L6-v2) learnt English only, and its similarities for other
    languages are mostly noise, so those are ranked as if no vectors were given."""
    spans = candidate_sentences(hits)
    if not spans or lexical.detect_language(question) != "en":
        return extractive_answer(question, hits, max_chars)
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


def sentence_features(
    question: str,
    candidates: Sequence[_Candidate],
    texts: Sequence[str],
    lexical_match: np.ndarray,
    dense: np.ndarray | None,
) -> np.ndarray:
    """One row of FEATURES per candidate sentence: how it and its neighbours match the question (by
    its rare words and, when given, by meaning), where it stands, and what it carries."""
    n = len(candidates)
    features = np.zeros((n, len(FEATURES)), dtype=np.float32)
    if n == 0:
        return features
    column = {name: index for index, name in enumerate(FEATURES)}
    given = dense is not None  # else every feature of meaning is zero, as the ranker was taught
    dense = np.zeros(n, dtype=np.float32) if dense is None else dense.astype(np.float32)
    passages = np.array([c.passage for c in candidates])
    same_before = np.concatenate([[False], passages[1:] == passages[:-1]])
    same_after = np.concatenate([passages[:-1] == passages[1:], [False]])
    same_two_before = np.concatenate([[False, False], passages[2:] == passages[:-2]])[:n]

    def shifted(values: np.ndarray, step: int, valid: np.ndarray) -> np.ndarray:
        moved = np.roll(values, step)
        return np.where(valid, moved, 0.0)

    wanted = set(lexical.stems(question))
    frequency = Counter(stem for c in candidates for stem in c.stems & wanted)
    weight = {stem: math.log(1.0 + n / (1.0 + frequency[stem])) for stem in wanted}
    whole = sum(weight.values()) or 1.0
    window = np.zeros(n, dtype=np.float32)
    for index, candidate in enumerate(candidates):
        covered = set(candidate.stems)
        if same_before[index]:
            covered |= candidates[index - 1].stems
        if same_after[index]:
            covered |= candidates[index + 1].stems
        window[index] = sum(weight[stem] for stem in covered & wanted) / whole
    order_lexical = np.empty(n)
    order_lexical[np.argsort(-lexical_match, kind="stable")] = np.arange(n)
    order_dense = np.full(n, np.inf)
    if given:
        order_dense[np.argsort(-dense, kind="stable")] = np.arange(n)
    asks = np.array([text.rstrip("\"'»”’) ").endswith("?") for text in texts], dtype=np.float32)
    kind = question_kind(question)
    asked = {word.lower() for word in _WORD.findall(question)}
    share = lexical_match / max(float(lexical_match.max()), 1e-6)
    best = int(np.argmax(lexical_match))
    after_best = np.zeros(n, dtype=bool)
    before_best = np.zeros(n, dtype=bool)
    if best + 1 < n and same_after[best]:
        after_best[best + 1] = True
    if best > 0 and same_before[best]:
        before_best[best - 1] = True
    names = set(lexical.stems(" ".join(word for word in _NAME.findall(" " + question))))
    others = wanted - names
    values = {
        "prev_share": shifted(share, 1, same_before),
        "next_share": shifted(share, -1, same_after),
        "after_best": after_best,
        "before_best": before_best,
        "names_share": [len(c.stems & names) / len(names) if names else 0.0 for c in candidates],
        "others_share": [len(c.stems & others) / len(others) if others else 0.0 for c in candidates],
        "new_words": [len(c.stems - wanted) / max(len(c.stems), 1) for c in candidates],
        "lexical": lexical_match,
        "lexical_share": share,
        "lexical_rank": 1.0 / (1.0 + order_lexical),
        "dense": dense,
        "dense_gap": dense - float(dense.max()),
        "dense_rank": 1.0 / (1.0 + order_dense),
        "prev_lexical": shifted(lexical_match, 1, same_before),
        "prev_dense": shifted(dense, 1, same_before),
        "prev2_lexical": shifted(lexical_match, 2, same_two_before),
        "next_lexical": shifted(lexical_match, -1, same_after),
        "next_dense": shifted(dense, -1, same_after),
        "window_lexical": window,
        "passage_rank": 1.0 / (1.0 + passages),
        "first_passage": passages == 0,
        "position": _positions(passages),
        "first_in_passage": ~same_before,
        "last_in_passage": ~same_after,
        "asks": asks,
        "prev_asks": shifted(asks, 1, same_before),
        "quoted": [bool(re.search(r"[\"“”«»]|(?:^|\s)'", text)) for text in texts],
        "words": [math.log1p(len(_WORD.findall(text))) for text in texts],
        "fragment": [len(_WORD.findall(text)) < FRAGMENT_WORDS for text in texts],
        "carries": [carries_kind(kind, text, question) for text in texts],
        "name_new": [any(name.lower() not in asked for name in _NAME.findall(text)) for text in texts],
        "number": [bool(_CUES["count"].search(text)) for text in texts],
        "time": [bool(_CUES["when"].search(text)) for text in texts],
        "reason": [bool(_CUES["why"].search(text)) for text in texts],
        "place": [bool(_CUES["where"].search(text)) for text in texts],
        "pronoun_start": [bool(_PRONOUN_START.match(text)) for text in texts],
        "speech_tag": [bool(_SPEECH_TAG.search(text)) for text in texts],
        **{f"kind_{name}": np.full(n, name == kind) for name, _ in _KINDS},
    }
    for name, value in values.items():
        features[:, column[name]] = np.asarray(value, dtype=np.float32)
    return features


def _positions(passages: np.ndarray) -> np.ndarray:
    """Each sentence's place in its passage, 0 (first) to 1 (last)."""
    positions = np.zeros(len(passages), dtype=np.float32)
    start = 0
    for end in range(1, len(passages) + 1):
        if end == len(passages) or passages[end] != passages[start]:
            count = end - start
            if count > 1:
                positions[start:end] = np.arange(count) / (count - 1)
            start = end
    return positions


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


def _shouted(sentence: str) -> bool:
    """A line in capitals (a speaker's name, a heading): "FIRST WITCH.", "CHAPTER XI"."""
    letters = [char for char in sentence if char.isalpha()]
    return bool(letters) and all(char.isupper() for char in letters) and len(_WORD.findall(sentence)) <= 8


def _sentence(
    hits: Sequence[PassageLike], span: tuple[int, int, int], score: float, max_chars: int
) -> ExtractiveSentence:
    passage, start, end = span
    hit = hits[passage]
    if end - start > max_chars:
        cut = hit.text.rfind(" ", start, start + max_chars)
        end = cut if cut > start else start + max_chars
    return ExtractiveSentence(
        text=hit.text[start:end],
        passage=passage,
        start=start,
        end=end,
        page=hit.page,
        chapter=hit.chapter,
        book_id=getattr(hit, "book_id", None),
        seq=getattr(hit, "seq", getattr(hit, "chunk_id", None)),
        score=score,
    )
