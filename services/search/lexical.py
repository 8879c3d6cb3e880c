"""Language-aware lexical vectors: tokens -> Snowball stems -> hashed sparse vectors for Qdrant.

Each word is stemmed by its own script (Cyrillic -> Russian, Latin -> English), so a Russian question
over an English book, a book quoting another language, or a mislabelled book all stem correctly; the
language of a text (for the payload) is detected the same way, independently for book and query.
Documents carry BM25's saturated term frequency; Qdrant's IDF modifier supplies the inverse document
frequency at query time, so the score is BM25 computed over the collection.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import Stemmer

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
_CYRILLIC = re.compile(r"[а-яё]")
_LATIN = re.compile(r"[a-z]")
_CYRILLIC_LETTERS = re.compile(r"[А-Яа-яЁё]")
_LATIN_LETTERS = re.compile(r"[A-Za-z]")

# BM25 term-frequency saturation; avgdl is the typical number of content tokens in a chunk of the
# default size (~800 characters), so length normalisation works without collection statistics.
K1 = 1.2
B = 0.75
AVG_DOC_TOKENS = 75.0

ENGLISH_STOP_WORDS: frozenset[str] = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most my
    myself no nor not now of off on once only or other our ours ourselves out over own same she should so
    some such than that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves s t don shall may might must upon unto thee thou thy ye o""".split()
)
RUSSIAN_STOP_WORDS: frozenset[str] = frozenset(
    """и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее мне было
    вот от меня еще нет о из ему теперь когда даже ну вдруг ли если уже или ни быть был него до вас нибудь
    опять уж вам ведь там потом себя ничего ей может они тут где есть надо ней для мы тебя их чем была сам
    чтоб без будто чего раз тоже себе под будет ж тогда кто этот того потому этого какой совсем ним здесь
    этом один почти мой тем чтобы нее сейчас были куда зачем всех никогда можно при наконец два об другой
    хоть после над больше тот через эти нас про всего них какая много разве три эту моя впрочем хорошо
    свою этой перед иногда лучше чуть том нельзя такой им более всегда конечно всю между это оно эта""".split()
)

_english = Stemmer.Stemmer("english")
_russian = Stemmer.Stemmer("russian")


@dataclass(frozen=True, slots=True)
class SparseVector:
    indices: list[int]
    values: list[float]


def detect_language(text: str, default: str = "en") -> str:
    """ "ru" or "en" by which script has more letters (sampled: enough for a chunk or a book)."""
    sample = text[:20_000]
    cyrillic = len(_CYRILLIC_LETTERS.findall(sample))
    latin = len(_LATIN_LETTERS.findall(sample))
    if cyrillic == latin == 0:
        return default
    return "ru" if cyrillic > latin else "en"


def tokenize(text: str) -> list[str]:
    """Lower-cased words without stop words (ё folded to е, apostrophes dropped)."""
    words = _WORD.findall(text.lower().replace("ё", "е"))
    return [
        word.replace("'", "").replace("’", "")
        for word in words
        if word not in ENGLISH_STOP_WORDS and word not in RUSSIAN_STOP_WORDS
    ]


def stems(text: str) -> list[str]:
    """Stems of the content words of text, each stemmed by its own script."""
    return [_stem(word) for word in tokenize(text)]


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    if _CYRILLIC.search(word):
        return _russian.stemWord(word)
    if _LATIN.search(word):
        return _english.stemWord(word)
    return word  # numbers and other scripts as they are


def term_id(stem: str) -> int:
    """A stable index for a stem in [0, 2^31): crc32 is the same in every process and version."""
    return zlib.crc32(stem.encode("utf-8")) & 0x7FFFFFFF


def document_vector(text: str) -> SparseVector:
    """BM25-saturated term frequencies of a passage (IDF is applied by Qdrant)."""
    counts = Counter(term_id(stem) for stem in stems(text))
    norm = K1 * (1.0 - B + B * sum(counts.values()) / AVG_DOC_TOKENS)
    indices = sorted(counts)
    return SparseVector(indices, [counts[i] * (K1 + 1.0) / (counts[i] + norm) for i in indices])


def query_vector(text: str) -> SparseVector:
    """Each distinct query stem once (weight 1), so a repeated word does not dominate, plus each word
    transliterated into the other script (weight 0.5): names and loanwords then match across languages
    ("Денвер" ~ "Denver"), which MiniLM cannot do for a Russian question over an English book."""
    weights: dict[int, float] = {}
    for word in tokenize(text):
        weights[term_id(_stem(word))] = 1.0
        other = _transliterated(word)
        if other:
            weights.setdefault(term_id(_stem(other)), TRANSLITERATION_WEIGHT)
    indices = sorted(weights)
    return SparseVector(indices, [weights[i] for i in indices])


TRANSLITERATION_WEIGHT = 0.5
_TO_LATIN = dict(
    zip(
        "абвгдежзийклмнопрстуфхцчшщъыьэюя",
        "a b v g d e zh z i y k l m n o p r s t u f kh ts ch sh shch - y - e yu ya".split(),
        strict=True,
    )
)
_TO_CYRILLIC = (
    ("shch", "щ"), ("sh", "ш"), ("ch", "ч"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"), ("th", "т"),
    ("ph", "ф"), ("yu", "ю"), ("ya", "я"), ("a", "а"), ("b", "б"), ("c", "к"), ("d", "д"), ("e", "е"),
    ("f", "ф"), ("g", "г"), ("h", "х"), ("i", "и"), ("j", "дж"), ("k", "к"), ("l", "л"), ("m", "м"),
    ("n", "н"), ("o", "о"), ("p", "п"), ("q", "к"), ("r", "р"), ("s", "с"), ("t", "т"), ("u", "у"),
    ("v", "в"), ("w", "у"), ("x", "кс"), ("y", "и"), ("z", "з"),
)  # fmt: skip


def _transliterated(word: str) -> str | None:
    """The word in the other script (Cyrillic <-> Latin), or None for numbers and other scripts."""
    if _CYRILLIC.search(word):
        return "".join(_TO_LATIN.get(char, char) for char in word).replace("-", "")
    if not _LATIN.search(word):
        return None
    out, i = [], 0
    while i < len(word):
        for latin, cyrillic in _TO_CYRILLIC:
            if word.startswith(latin, i):
                out.append(cyrillic)
                i += len(latin)
                break
        else:
            out.append(word[i])
            i += 1
    return "".join(out)


def document_vectors(texts: Iterable[str]) -> list[SparseVector]:
    return [document_vector(text) for text in texts]


def overlap_score(query_stems: Sequence[str], text_stems: Sequence[str]) -> float:
    """Share of distinct query stems found in a text (0..1); for ranking sentences."""
    wanted = set(query_stems)
    if not wanted:
        return 0.0
    return len(wanted.intersection(text_stems)) / len(wanted)


def proximity_scores(query: str, texts: Sequence[str], window_chars: int = 250) -> list[float]:
    """For each text, the best share (0..1) of the query's stems found together in one window of whole
    sentences, each stem weighted by its rarity among the texts (IDF over these texts)."""
    from services.search.sentences import window_spans

    wanted = set(stems(query))
    if not wanted or not texts:
        return [0.0] * len(texts)
    windows = [
        [frozenset(stems(text[a:b])) & wanted for a, b in window_spans(text, window_chars)] for text in texts
    ]
    frequency = Counter(stem for groups in windows for stem in frozenset().union(*groups))
    weight = {stem: math.log(1.0 + len(texts) / (1.0 + frequency[stem])) for stem in wanted}
    whole = sum(weight.values())
    return [
        max((sum(weight[s] for s in window) / whole for window in groups), default=0.0) for groups in windows
    ]


def expansion_terms(
    query: str,
    feedback: Sequence[str],
    weights: Sequence[float],
    pool: Sequence[str],
    count: int = 10,
) -> dict[str, float]:
    """Pseudo-relevance feedback from the book's own words (RM3-like, on the lexical side): the stems that
    the best passages (`feedback`, with their scores as `weights`) share more than the candidate pool
    (`pool`: every passage either retriever found) does, each stem's weight in (0, 1], the best 1.

    A stem scores sum(weight x its share of the passage's words) over the feedback passages, times its
    rarity in the pool (log(1 + N / df)): words of the story being asked about, not the book's everyday
    words. The question's own stems are left out (they are in the query already), and stems found in
    only one feedback passage too (one passage's accident is no evidence)."""
    own = set(stems(query))
    if not feedback or count <= 0:
        return {}
    pool_stems = [frozenset(stems(text)) for text in pool]
    df = Counter(stem for group in pool_stems for stem in group)
    size = max(len(pool), 1)
    scores: dict[str, float] = {}
    seen: Counter[str] = Counter()
    for text, weight in zip(feedback, weights, strict=True):
        words = stems(text)
        if not words or weight <= 0:
            continue
        counts = Counter(words)
        for stem, n in counts.items():
            if stem in own or len(stem) < 3 or stem.isdigit():
                continue
            seen[stem] += 1
            scores[stem] = scores.get(stem, 0.0) + weight * n / len(words)
    ranked = {
        stem: score * math.log(1.0 + size / (1.0 + df.get(stem, 0)))
        for stem, score in scores.items()
        if seen[stem] >= 2
    }
    best = sorted(ranked, key=lambda stem: (-ranked[stem], stem))[:count]
    if not best:
        return {}
    top = ranked[best[0]]
    return {stem: round(ranked[stem] / top, 4) for stem in best}


def expanded_query_vector(query: str, terms: dict[str, float], weight: float) -> SparseVector:
    """The query's lexical vector plus the expansion stems at `weight` x their own weight (a query stem
    keeps its own weight)."""
    base = query_vector(query)
    weights = dict(zip(base.indices, base.values, strict=True))
    for stem, share in terms.items():
        weights.setdefault(term_id(stem), round(weight * share, 4))
    indices = sorted(weights)
    return SparseVector(indices, [weights[i] for i in indices])
